import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type APIRequestContext, test as base, _electron as electron, expect, type Page } from '@playwright/test'
import sharp from 'sharp'
import type { CacheStats } from '../src/shared/cache-types'

export const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(import.meta.dirname, '../test/fixtures/images')
export const image = (name: string): string => join(FIXTURES, `${name}.png`)

interface Fixtures {
  /** The app's page, fresh: the browser host with an emptied cache, or a new Electron window. */
  app: Page
}

/**
 * The same specs drive both projects: "browser" opens the browser host; "electron" launches
 * the built app through _electron.launch (only where an Electron binary exists).
 */
export const test = base.extend<Fixtures>({
  app: async ({ page, request }, use, testInfo) => {
    const electronBinary = testInfo.project.metadata.electronBinary as string | undefined
    if (electronBinary) {
      const app = await electron.launch({ executablePath: electronBinary, args: [join(import.meta.dirname, '..')] })
      const window = await app.firstWindow()
      await use(window)
      await app.close()
      return
    }
    await request.post('/api/cache/clear', { data: {} })
    await request.post('/api/cache/config', { data: { maxItems: 1000, maxBytes: 512 * 1024 * 1024 } })
    await page.goto('/')
    await use(page)
  },
})

export { expect }

/** Chooses a picture in the form and generates; returns once the result is shown. */
export async function generate(
  page: Page,
  picture: string,
  options: { prompt?: string; quality?: string; seed?: number } = {},
): Promise<string> {
  await page.getByTestId('image-input').setInputFiles(image(picture))
  if (options.prompt !== undefined) await page.getByLabel('Prompt').fill(options.prompt)
  if (options.quality) await page.getByLabel('Quality').selectOption(options.quality)
  if (options.seed !== undefined) await page.getByLabel('Seed').fill(String(options.seed))
  await page.getByRole('button', { name: 'Generate' }).click()
  const result = page.getByTestId('result')
  await expect(result).toBeVisible()
  return (await result.getAttribute('data-cache')) ?? ''
}

/** Share of the 3D viewport's pixels that differ from its empty background. */
export async function modelCoverage(page: Page): Promise<number> {
  const shot = await page.locator('[data-testid="viewport"] canvas').screenshot()
  const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const background = [0x1b, 0x21, 0x30]
  let different = 0
  for (let i = 0; i < data.length; i += 3) {
    const d =
      Math.abs((data[i] as number) - (background[0] as number)) +
      Math.abs((data[i + 1] as number) - (background[1] as number)) +
      Math.abs((data[i + 2] as number) - (background[2] as number))
    if (d > 40) different++
  }
  return different / (info.width * info.height)
}

/** Reads a stat card's main figure. */
export async function statValue(page: Page, id: string): Promise<string> {
  return (await page.getByTestId(`stat-${id}`).locator('.stat-value').textContent()) ?? ''
}

export function textFile(): { name: string; mimeType: string; buffer: Buffer } {
  return {
    name: 'notes.png',
    mimeType: 'image/png',
    buffer: Buffer.from(readFileSync(join(import.meta.dirname, 'fixtures.ts'))),
  }
}

/** The host's statistics, read through its own API. */
export async function cacheStats(request: APIRequestContext): Promise<CacheStats> {
  return (await (await request.get('/api/cache/stats')).json()) as CacheStats
}
