import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { appCall, expect, generate, statValue, test } from './fixtures'

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
    expect(running.sim?.dialogs.at(-1)?.defaultPath).toMatch(/^a-burger-[0-9a-f]{8}\.glb$/)
    const bytes = readFileSync(target)
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('glTF')
    const key = (await appCall(app, 'entries')).items[0]?.key
    const served = await app.evaluate(
      (url) => fetch(url).then(async (response) => (await response.arrayBuffer()).byteLength),
      `meshcache://app/models/${key}.glb`,
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
})
