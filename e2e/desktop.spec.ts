import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { CONTENT_SECURITY_POLICY } from '../src/shared/csp'
import { closedPort } from '../test/support/closed-port'
import { FAKE_PYTHON, fakeCheckout } from '../test/support/fake-hunyuan'
import { launchSimApp, type SimApp } from './electron-sim/host'
import { appCall, expect, generate, image, modelCoverage, statValue, test } from './fixtures'

/**
 * What only the desktop app does: its data folder, quitting, the save dialog, start-up.
 * These run where the Electron main runs: the electron-sim project (the built main under the
 * stand-in `electron` module) and the real `electron` project where a binary exists.
 */
test.describe('the desktop app', () => {
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixtures from an object pattern
  test.beforeEach(({}, testInfo) => {
    test.skip(testInfo.project.name === 'browser', 'desktop behaviour: the browser host has no Electron main')
  })

  test("keeps its data in this run's own folder, never the user's", async ({ app, running }, testInfo) => {
    test.skip(!running.sim, 'the folder is chosen by the stand-in')
    await generate(app, 'triposr-robot', { quality: 'draft' })
    const models = join(testInfo.outputPath('data'), 'models')
    await expect.poll(() => existsSync(models) && readdirSync(join(models, 'records')).length).toBe(1)
    expect(existsSync(join(homedir(), '.config', 'MeshCache', 'models'))).toBe(false)
  })

  test('saves its indexes on quit; a relaunch finds every model', async ({ app, launch, running }, testInfo) => {
    expect(await generate(app, 'triposr-chair', { prompt: 'chair', quality: 'draft', seed: 1 })).toBe('miss')
    expect(await generate(app, 'triposr-flamingo', { prompt: 'flamingo', quality: 'draft', seed: 1 })).toBe('miss')
    await running.sim?.quit()
    const snapshot = JSON.parse(readFileSync(join(testInfo.outputPath('data'), 'models', 'index.json'), 'utf8'))
    expect(snapshot.entries).toHaveLength(2)

    const again = await launch()
    await expect(again.getByTestId('entries').locator('tbody tr')).toHaveCount(2)
    expect(await generate(again, 'triposr-chair', { prompt: 'chair', quality: 'draft', seed: 1 })).toBe('hit')
    expect((await appCall(again, 'stats')).loads).toBe(0)
  })

  test('Save GLB writes the model where the user chose in the dialog', async ({ app, running }, testInfo) => {
    test.skip(!running.sim, 'the save dialog is scripted through the stand-in')
    await generate(app, 'triposr-hamburger', { prompt: 'a burger', quality: 'draft' })
    const target = testInfo.outputPath('saved.glb')
    running.sim?.answerSaveDialog(target)
    await app.getByRole('button', { name: 'Save GLB' }).click()
    await expect(app.getByRole('status').filter({ hasText: 'Model saved.' })).toBeVisible()
    // Written atomically: the file appears complete or not at all.
    expect(existsSync(target)).toBe(true)
    expect(running.sim?.dialogs.at(-1)?.options.defaultPath).toMatch(/^a-burger-[0-9a-f]{8}\.glb$/)
    const bytes = readFileSync(target)
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('glTF')
    const key = (await appCall(app, 'entries')).items[0]?.key
    const served = await app.evaluate(
      (url) => fetch(url).then(async (response) => (await response.arrayBuffer()).byteLength),
      `/models/${key}.glb`,
    )
    expect(bytes.byteLength).toBe(served)
  })

  test('shows its window before warming memory from disk has finished', async ({ app, launch, running }) => {
    test.skip(!running.sim, "the model files are held back by the stand-in's test seam")
    await generate(app, 'trellis-pyramid', { quality: 'draft' })
    await running.sim?.quit()
    // Reading model files waits until the test lets it go.
    const again = await launch({ env: { MESHCACHE_SIM_HOLD_READS: '.glb' } })
    // The window is up and answering while warm-up waits on the file.
    await expect(again.getByRole('heading', { name: 'MeshCache' })).toBeVisible()
    await expect.poll(async () => (await appCall(again, 'stats')).disk?.warming).toBe(true)
    expect(await statValue(again, 'items')).toBe('0')
    running.sim?.releaseReads()
    await expect.poll(async () => (await appCall(again, 'stats')).disk?.warming).toBe(false)
    await expect.poll(() => statValue(again, 'items')).toBe('1')
  })

  test("runs on its own origin with a 'self'-only CSP; a cross-origin fetch to its scheme is refused", async ({
    app,
    context,
    running,
  }) => {
    test.skip(!running.sim, "the origin mapping is the stand-in's")
    expect(new URL(app.url()).host).toBe('app.meshcache.localhost')
    const csp = await app.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')
    expect(csp).toBe(CONTENT_SECURITY_POLICY)
    expect(csp).not.toMatch(/meshcache:|blob:|data:|unsafe/)
    // The model and its thumbnail load from the page's own origin.
    await generate(app, 'triposr-teapot', { quality: 'draft' })
    await expect(app.getByTestId('viewport')).toHaveAttribute('aria-busy', 'false')
    await expect.poll(() => modelCoverage(app)).toBeGreaterThan(0.01)
    const thumbnail = app.getByTestId('entries').locator('img.entry-thumb').first()
    await expect.poll(() => thumbnail.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
    // Another origin gets nothing: the scheme is not corsEnabled (electron/electron#51152).
    await context.route('http://elsewhere.localhost/**', (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>elsewhere</title>' }),
    )
    const other = await context.newPage()
    await running.sim?.routeSchemes(other)
    await other.goto('http://elsewhere.localhost/')
    const attempt = (page: Page) =>
      page.evaluate(
        (url) =>
          fetch(url).then(
            (response) => `loaded ${response.status}`,
            (error: Error) => `refused: ${error.message}`,
          ),
        'http://app.meshcache.localhost/index.html',
      )
    expect(await attempt(other)).toMatch(/^refused/)
    expect(await attempt(app)).toBe('loaded 200')
    await other.close()
  })

  test('a second launch focuses the window and hands over its picture', async ({ app, context, running }, testInfo) => {
    test.skip(!running.sim, 'a second instance is started through the stand-in')
    const second = await launchSimApp(await context.newPage(), {
      userData: testInfo.outputPath('data'),
      args: [image('triposr-chair')],
    })
    expect(second.child.exitCode).toBe(0)
    expect(second.timeline.windowCreated).toBeUndefined()
    await expect(app.locator('.dropzone-name')).toHaveText('triposr-chair.png')
    expect(running.sim?.focused).toBeGreaterThan(0)
    expect(await generate(app, 'triposr-chair', { quality: 'draft' })).toBe('miss')
  })

  test('keeps the window where the user left it, and brings it back on screen', async ({
    app,
    launch,
    running,
  }, testInfo) => {
    test.skip(!running.sim, "the window and its displays are the stand-in's")
    await expect(app.getByRole('heading', { name: 'MeshCache' })).toBeVisible()
    const first = running.sim
    await first?.setBounds({ x: 140, y: 90, width: 1100, height: 720 })
    await first?.quit()
    await launch()
    expect(running.sim?.bounds).toEqual({ x: 140, y: 90, width: 1100, height: 720 })
    await running.sim?.quit()
    // Saved on a display that is gone: placed back onto the one there is.
    const state = join(testInfo.outputPath('data'), 'window-state.json')
    writeFileSync(state, JSON.stringify({ bounds: { x: 4000, y: 2500, width: 3000, height: 700 }, maximized: false }))
    await launch()
    expect(running.sim?.bounds).toEqual({ x: 0, y: 380, width: 1920, height: 700 })
  })

  test('has a File, Edit, View and Help menu wired to the same actions, and writes a log', async ({
    app,
    running,
  }, testInfo) => {
    test.skip(!running.sim, 'the menu is clicked through the stand-in')
    const sim = running.sim as SimApp
    expect(sim.menu.map((m) => m.label)).toEqual(['File', 'Edit', 'View', 'Help'])
    const labels = (name: string) => sim.menu.find((m) => m.label === name)?.submenu?.map((item) => item.label)
    expect(labels('File')).toEqual(['Open picture…', 'Save model…', 'separator', 'Quit'])
    expect(labels('View')).toEqual(['resetZoom', 'zoomIn', 'zoomOut', 'separator', 'togglefullscreen'])
    sim.answerOpenDialog(image('triposr-robot'))
    await sim.clickMenu('File', 'Open picture…')
    await expect(app.locator('.dropzone-name')).toHaveText('triposr-robot.png')
    await app.getByLabel('Quality').selectOption('draft')
    await app.getByRole('button', { name: 'Generate' }).click()
    await expect(app.getByTestId('result')).toHaveAttribute('data-cache', 'miss')
    const target = testInfo.outputPath('from-menu.glb')
    sim.answerSaveDialog(target)
    await sim.clickMenu('File', 'Save model…')
    await expect(app.getByRole('status').filter({ hasText: 'Model saved.' })).toBeVisible()
    expect(readFileSync(target).subarray(0, 4).toString('latin1')).toBe('glTF')
    const data = testInfo.outputPath('data')
    await sim.clickMenu('Help', 'Open data folder')
    await sim.clickMenu('Help', 'Open log file')
    await expect.poll(() => sim.opened.length).toBe(2)
    expect(sim.opened[0]).toBe(data)
    const log = sim.opened[1] as string
    expect(log.startsWith(join(data, 'logs'))).toBe(true)
    await expect.poll(() => readFileSync(log, 'utf8')).toContain('"msg":"generated"')
    expect(readFileSync(log, 'utf8')).toContain('"msg":"MeshCache starting"')
    await sim.clickMenu('Help', 'About MeshCache')
    await expect.poll(() => sim.messageBoxes.at(-1)?.message).toMatch(/^MeshCache \d+\.\d+\.\d+$/)
  })

  test('says why it could not start, and offers the data folder, the log and quit', async ({
    app: first,
    launch,
    running,
  }, testInfo) => {
    test.skip(!running.sim, 'the data folder is chosen by the stand-in')
    await expect(first.getByRole('heading', { name: 'MeshCache' })).toBeVisible()
    await running.sim?.quit()
    const data = testInfo.outputPath('data')
    rmSync(join(data, 'models'), { recursive: true, force: true })
    writeFileSync(join(data, 'models'), 'a file where the models folder should be')
    const app = await launch()
    const screen = app.getByTestId('startup-error')
    await expect(screen).toBeVisible()
    await expect(screen.getByRole('alert')).toContainText('cannot use its data folder')
    await screen.getByRole('button', { name: 'Open data folder' }).click()
    await screen.getByRole('button', { name: 'Open log' }).click()
    const sim = running.sim as SimApp
    await expect.poll(() => sim.opened.length).toBe(2)
    expect(readFileSync(sim.opened[1] as string, 'utf8')).toContain('start-up failed')
    await screen.getByRole('button', { name: 'Quit' }).click()
    await expect.poll(() => sim.child.exitCode).toBe(0)
  })

  test('starts a local GPU server, uses it, starts it again after kill -9, and stops it on quit', async ({
    app,
    running,
  }) => {
    test.skip(!running.sim, 'the local server runs beside the stand-in')
    const port = Number(new URL(await closedPort()).port)
    const local = app.getByTestId('local-server')
    await local.getByLabel('Hunyuan3D folder').fill(fakeCheckout())
    await local.getByLabel('Python').fill(FAKE_PYTHON)
    await local.getByLabel('Port').fill(String(port))
    await local.getByRole('button', { name: 'Start' }).click()
    await expect(app.getByTestId('local-server-state')).toHaveAttribute('data-state', 'running')
    await expect(app.getByTestId('gpu-server')).toContainText(`http://127.0.0.1:${port}`)
    await expect(app.getByTestId('gpu-server')).toContainText('started by MeshCache')
    await generate(app, 'triposr-robot', { quality: 'draft' })
    const newest = (await appCall(app, 'entries', { sort: 'createdAt', order: 'desc' })).items[0]
    expect(newest?.meta.backend).toBe('hunyuan3d-2')
    const status = () =>
      app.evaluate(() =>
        (
          window as unknown as { api: { localServer(): Promise<{ pid: number; restarts: number; state: string }> } }
        ).api.localServer(),
      )
    const first = (await status()).pid
    process.kill(first, 'SIGKILL')
    await expect.poll(async () => (await status()).restarts).toBe(1)
    await expect(app.getByTestId('local-server-state')).toHaveAttribute('data-state', 'running')
    const second = (await status()).pid
    expect(second).not.toBe(first)
    await running.sim?.quit()
    expect(() => process.kill(second, 0)).toThrow()
  })
})
