import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Page } from '@playwright/test'
import { seedLibrary } from '../test/support/seed-library'
import { startHost } from './host-client'
import { type BenchReport, fmt, markdownTable, median } from './lib'

/**
 * The library at 2,000 models (issue 31), in Chromium on the built browser host, as a user
 * meets it: from the keystroke that changes the search (the field's own 120 ms pause
 * included) until the count says what was found and that frame is drawn. The floor is the
 * same query as a bare fetch of the first page from the same page: what the service and the
 * network take, without React, the grid or the pause. Scrolling is timed from the jump to the
 * end of the grid until the oldest model's card is drawn (its page fetched on the way).
 */

const ENTRIES = 2000
const RUNS = 9
const SEARCHES = [
  { q: 'armchair', found: '100 models found' },
  { q: 'armchair-1960', found: '1 model found' },
  { q: 'lamp', found: '900 models found' },
] as const
const ALL = '2,000 models'

/** Types `q` into the search field and resolves with the ms until the count reads `expected` and a frame is drawn. */
const SEARCH_TIMER = `(async ([q, expected]) => {
  const input = document.querySelector('input[aria-label="Search models"]')
  const count = document.querySelector('[data-testid="library-count"]')
  const started = performance.now()
  const done = new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('the count read "' + count.textContent + '", not "' + expected + '"')), 10000)
    const check = () => {
      if (count.textContent === expected) {
        observer.disconnect()
        requestAnimationFrame(() => resolve(performance.now() - started))
      }
    }
    const observer = new MutationObserver(check)
    observer.observe(count, { childList: true, characterData: true, subtree: true })
  })
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, q)
  input.dispatchEvent(new Event('input', { bubbles: true }))
  return done
})`

/** The same first page, fetched bare. */
const FETCH_TIMER = `(async (q) => {
  const started = performance.now()
  const query = new URLSearchParams({ q, limit: '120', sort: 'createdAt', order: 'desc' })
  const page = await (await fetch('/api/cache/entries?' + query)).json()
  if (!Array.isArray(page.items)) throw new Error('no page')
  return performance.now() - started
})`

/** Jumps to the grid's end; ms until the oldest card is there and drawn. */
const SCROLL_TIMER = `(async (name) => {
  const grid = document.querySelector('[data-testid="library-grid"]')
  const started = performance.now()
  grid.scrollTo({ top: grid.scrollHeight })
  return new Promise((resolve) => {
    const check = () => {
      if (document.querySelector('article[aria-label="' + name + '"]')) requestAnimationFrame(() => resolve(performance.now() - started))
      else requestAnimationFrame(check)
    }
    check()
  })
})`

async function search(page: Page, q: string, expected: string): Promise<number> {
  return page.evaluate(`${SEARCH_TIMER}(${JSON.stringify([q, expected])})`) as Promise<number>
}

export async function runLibraryBench(): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-bench-library-'))
  await seedLibrary(dataDir, ENTRIES)
  const host = await startHost({ MESHCACHE_DATA_DIR: dataDir })
  const executablePath =
    process.env.MESHCACHE_CHROMIUM ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined)
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-background-networking'] })
  const app = new Map<string, number[]>(SEARCHES.map((s) => [s.q, []]))
  const floor = new Map<string, number[]>(SEARCHES.map((s) => [s.q, []]))
  const cleared: number[] = []
  const scrolled: number[] = []
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    await page.goto(host.url)
    await page.getByRole('tab', { name: 'Library' }).click()
    await page.getByTestId('library-count').getByText(ALL).waitFor()
    for (let run = 0; run < RUNS + 1; run++) {
      for (const { q, found } of SEARCHES) {
        const ms = await search(page, q, found)
        const bare = (await page.evaluate(`${FETCH_TIMER}(${JSON.stringify(q)})`)) as number
        const back = await search(page, '', ALL)
        // The first round warms the page, the host and the JIT: not counted.
        if (run === 0) continue
        app.get(q)?.push(ms)
        floor.get(q)?.push(bare)
        cleared.push(back)
      }
      const ms = (await page.evaluate(`${SCROLL_TIMER}(${JSON.stringify('armchair-0000.png')})`)) as number
      await page.getByTestId('library-grid').evaluate((grid) => grid.scrollTo({ top: 0 }))
      if (run > 0) scrolled.push(ms)
    }
  } finally {
    await browser.close()
    host.child.kill('SIGTERM')
  }
  const rows = SEARCHES.map(({ q, found }) => {
    const ms = median(app.get(q) ?? [])
    const bare = median(floor.get(q) ?? [])
    return [`search "${q}" (${found.replace(' found', '')})`, fmt(ms), fmt(bare, 1), `${fmt(ms / bare, 1)}x`]
  })
  rows.push(['clear the search (2,000 models)', fmt(median(cleared)), '', ''])
  rows.push(['scroll to the oldest model', fmt(median(scrolled)), '', ''])
  const table = markdownTable(
    [
      `library at ${ENTRIES.toLocaleString('en')} models`,
      `to results on screen, ms (median of ${RUNS})`,
      'floor: bare fetch, ms',
      'ratio',
    ],
    rows,
  )
  return {
    name: 'library',
    table,
    data: {
      entries: ENTRIES,
      runs: RUNS,
      searchPauseMs: 120,
      app: Object.fromEntries(app),
      floor: Object.fromEntries(floor),
      cleared,
      scrolled,
    },
  }
}
