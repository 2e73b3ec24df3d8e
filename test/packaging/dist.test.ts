import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listPackage } from '@electron/asar'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'

/**
 * A STAND-IN for Electron's unpacked distribution (the zip electron-builder would download,
 * which this machine cannot): what electron-builder copies for `--dir` on Linux, an `electron`
 * executable (renamed to the app's) and a resources folder. It only lets the packing run; the
 * packed app is read, never started.
 */
function standInElectron(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-electron-dist-'))
  mkdirSync(join(dir, 'resources'))
  writeFileSync(join(dir, 'electron'), '#!/bin/sh\necho "stand-in Electron: not the real binary" >&2\nexit 1\n')
  chmodSync(join(dir, 'electron'), 0o755)
  writeFileSync(join(dir, 'LICENSE'), 'stand-in')
  writeFileSync(
    join(dir, 'version'),
    JSON.parse(readFileSync(join(ROOT, 'node_modules/electron/package.json'), 'utf8')).version,
  )
  return dir
}

/** Every package `npm ls` finds in the production tree (a devDependency may also be a production one's dependency). */
function productionPackages(): Set<string> {
  const tree = JSON.parse(execFileSync('npm', ['ls', '--omit=dev', '--all', '--json'], { cwd: ROOT, encoding: 'utf8' }))
  const names = new Set<string>()
  const walk = (node: { dependencies?: Record<string, unknown> }): void => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      names.add(name)
      walk(child as { dependencies?: Record<string, unknown> })
    }
  }
  walk(tree)
  return names
}

describe('the packed desktop app (electron-builder --dir, offline)', () => {
  it('holds main, preload, renderer and worker, sharp unpacked, and nothing from devDependencies', () => {
    const out = mkdtempSync(join(tmpdir(), 'meshcache-dist-'))
    execFileSync(
      npx,
      [
        'electron-builder',
        '--dir',
        '--linux',
        '--x64',
        '--publish',
        'never',
        `-c.electronDist=${standInElectron()}`,
        `-c.directories.output=${out}`,
      ],
      { cwd: ROOT, stdio: 'pipe', env: { ...process.env, CI: 'true' } },
    )
    const resources = join(out, 'linux-unpacked', 'resources')
    expect(existsSync(join(out, 'linux-unpacked', 'meshcache'))).toBe(true)
    const files = new Set(
      listPackage(join(resources, 'app.asar'), { isPack: false }).map((f) => f.replaceAll('\\', '/')),
    )
    for (const file of [
      '/package.json',
      '/out/main/index.js',
      '/out/main/server.js',
      '/out/preload/index.cjs',
      '/out/renderer/index.html',
    ]) {
      expect(files.has(file), file).toBe(true)
    }
    expect([...files].some((f) => /^\/out\/renderer\/assets\/index-.*\.js$/.test(f))).toBe(true)
    // Outside the archive: the worker thread's script and sharp's native parts.
    const unpacked = join(resources, 'app.asar.unpacked')
    expect(existsSync(join(unpacked, 'out/main/builtin-worker.js'))).toBe(true)
    const sharpBinary = execFileSync('find', [unpacked, '-name', 'sharp-*.node'], { encoding: 'utf8' }).trim()
    expect(sharpBinary).toMatch(/@img\/sharp-linux-x64\/lib\/sharp-linux-x64.*\.node$/)
    expect(execFileSync('find', [unpacked, '-name', 'libvips-cpp.so*'], { encoding: 'utf8' }).trim()).not.toBe('')
    // Production dependencies only.
    const packed = new Set(
      [...files]
        .filter((f) => f.startsWith('/node_modules/'))
        .map((f) => {
          const [, , scope, name] = f.split('/')
          return scope?.startsWith('@') ? `${scope}/${name}` : (scope as string)
        }),
    )
    const production = productionPackages()
    const { devDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>
    }
    const devOnly = Object.keys(devDependencies).filter((name) => !production.has(name))
    expect(devOnly).toEqual(expect.arrayContaining(['electron', 'react', 'vitest', 'typescript', '@playwright/test']))
    expect(devOnly.filter((name) => packed.has(name))).toEqual([])
    expect(packed.has('sharp') && packed.has('fastify') && packed.has('zod')).toBe(true)
  }, 180_000)
})
