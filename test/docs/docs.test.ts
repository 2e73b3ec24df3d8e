import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { OPERATIONS } from '../../src/shared/operations'

/** The README is the newcomer's five minutes: its links and the docs' links must lead somewhere. */
const ROOT = join(import.meta.dirname, '../..')
const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

function relativeLinks(page: string): string[] {
  const text = readFileSync(join(ROOT, page), 'utf8')
  return [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z]+:/i.test(target))
}

describe('the documentation', () => {
  it.each(pages)('%s links only to files that exist', (page) => {
    const missing = relativeLinks(page).filter((target) => !existsSync(resolve(dirname(join(ROOT, page)), target)))
    expect(missing).toEqual([])
  })

  it('keeps the README short: what a newcomer reads in five minutes', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').length).toBeLessThan(8_000)
  })

  it('lists every HTTP route of the operation table in docs/api.md', () => {
    const api = readFileSync(join(ROOT, 'docs/api.md'), 'utf8')
    const routes = Object.values(OPERATIONS).flatMap((spec) => (spec.http ? [spec.http.path] : []))
    expect(routes.filter((path) => !api.includes(path))).toEqual([])
  })
})
