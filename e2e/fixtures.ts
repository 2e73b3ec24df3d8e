import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test as base, _electron as electron, expect, type Locator, type Page } from '@playwright/test'
import sharp from 'sharp'
import type { OperationInput, OperationResult, ServiceOperationName } from '../src/shared/operations'
import { type FakeHunyuan, type FakeVariant, startFakeHunyuan } from '../test/support/fake-hunyuan'
import { launchSimApp, type SimApp } from './electron-sim/host'

const ROOT = join(import.meta.dirname, '..')
export const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
export const image = (name: string): string => join(FIXTURES, `${name}.png`)

export interface AppOptions {
  /** Start a (fake) Hunyuan3D-2 server for the app, holding every job until the test releases it. */
  gpu: boolean
  /** Which api_server the fake is (2.0 unless told): 2.1 runs jobs through /send and /status. */
  gpuVariant?: FakeVariant
}

interface Fixtures {
  appOptions: AppOptions
  /** The fake GPU server, when `appOptions.gpu`. */
  gpu: FakeHunyuan | undefined
  /** Starts the app on a data folder of this test and returns its page (again for a relaunch). */
  launch: (extra?: { env?: Record<string, string> }) => Promise<Page>
  /** The app's page, fresh: a browser host of its own, or an Electron window (real or stand-in). */
  app: Page
  /** What is running for this test: the electron-sim app, in that project; and how to quit the latest app. */
  running: { sim?: SimApp; quit?: () => Promise<void> }
}

/** A browser host of this test's own (its own data folder and statistics), on a free port. */
async function startHost(dataDir: string, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, 'out/main/server.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env, MESHCACHE_PORT: '0', MESHCACHE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /served at (http:\/\/[\d.:]+)\//.exec(output)
      if (match) resolve(match[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`the host exited (code ${code}): ${output}`)))
  })
  return { url, child }
}

/**
 * The same specs drive every project: "browser" opens a browser host, "electron-sim" runs the
 * built Electron main under the stand-in `electron` module with the real preload in the page,
 * and "electron" launches the real app (only where its binary exists).
 */
export const test = base.extend<Fixtures>({
  appOptions: [{ gpu: false }, { option: true }],
  gpu: async ({ appOptions }, use) => {
    if (!appOptions.gpu) return use(undefined)
    const fake = await startFakeHunyuan({ held: true, variant: appOptions.gpuVariant ?? '2.0' })
    await use(fake)
    await fake.close()
  },
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixtures from an object pattern
  running: async ({}, use) => use({}),
  launch: async ({ context, gpu, running }, use, testInfo) => {
    const dataDir = testInfo.outputPath('data')
    mkdirSync(dataDir, { recursive: true })
    const base: Record<string, string> = gpu ? { MESHCACHE_HUNYUAN_URL: gpu.url } : {}
    const stops: (() => Promise<void>)[] = []
    const project = testInfo.project.name
    const electronBinary = testInfo.project.metadata.electronBinary as string | undefined
    // Anything the page's CSP refused is a defect of the app (or of a stand-in that hid it).
    const refusals: string[] = []
    await use(async (extra = {}) => {
      const env = { ...base, ...extra.env }
      const page = await context.newPage()
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) refusals.push(message.text())
      })
      if (electronBinary) {
        const app = await electron.launch({
          executablePath: electronBinary,
          args: [ROOT],
          env: { ...(process.env as Record<string, string>), ...env },
        })
        stops.push(() => app.close())
        return app.firstWindow()
      }
      if (project === 'electron-sim') {
        const sim = await launchSimApp(page, { userData: dataDir, env })
        running.sim = sim
        running.quit = () => sim.quit()
        stops.push(() => sim.quit())
        return page
      }
      const host = await startHost(dataDir, env)
      const quit = async (): Promise<void> => {
        if (host.child.exitCode !== null || host.child.signalCode !== null) return
        host.child.kill('SIGTERM')
        await new Promise((resolve) => host.child.once('exit', resolve))
      }
      running.quit = quit
      stops.push(quit)
      await page.goto(host.url)
      return page
    })
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    expect(refusals, 'the page refused nothing under its CSP').toEqual([])
  },
  app: async ({ launch }, use) => {
    await use(await launch())
  },
})

export { expect }

/** Calls the app's Api from its page: window.api, from the preload or the HTTP adapter. */
export async function appCall<K extends ServiceOperationName>(
  page: Page,
  name: K,
  input?: OperationInput<K>,
): Promise<OperationResult<K>> {
  return page.evaluate(
    ([n, i]) => (window as unknown as { api: Record<string, (input: unknown) => Promise<unknown>> }).api[n]?.(i),
    [name, input] as const,
  ) as Promise<OperationResult<K>>
}

/** Chooses a picture in the form and generates; returns once the result is shown. */
export async function generate(
  page: Page,
  picture: string,
  options: { prompt?: string; quality?: string; seed?: number } = {},
): Promise<string> {
  await page.getByTestId('image-input').setInputFiles(image(picture))
  // The picked file is read before the form has it: Generate then takes this picture.
  await expect(page.getByTestId('picked')).toHaveText(`${picture}.png`)
  if (options.prompt !== undefined) await page.getByLabel('Prompt').fill(options.prompt)
  if (options.quality) await page.getByLabel('Quality').selectOption(options.quality)
  if (options.seed !== undefined) await page.getByLabel('Seed').fill(String(options.seed))
  await page.getByRole('button', { name: 'Generate' }).click()
  const result = page.getByTestId('result')
  await expect(result).toBeVisible()
  return (await result.getAttribute('data-cache')) ?? ''
}

/** Share of the 3D viewport's pixels that differ from its empty background. */
export function modelCoverage(page: Page): Promise<number> {
  return canvasCoverage(page.locator('[data-testid="viewport"] canvas'))
}

/** Share of a 3D view's pixels that differ from the views' empty background. */
export async function canvasCoverage(canvas: Locator): Promise<number> {
  const shot = await canvas.screenshot()
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
