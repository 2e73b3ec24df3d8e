import { readFileSync } from 'node:fs'
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js'
import { seedLibrary } from '../test/support/seed-library'
import { appCall, canvasCoverage, expect, generate, test } from './fixtures'

/**
 * The library (issue 31): find a model by its picture's name, keep it, compare two with linked
 * cameras, and export one; the preview says how many triangles a model has.
 */
test.describe('the library', () => {
  test('finds a model by its picture name, keeps it, compares two and exports one as OBJ', async ({
    app,
    running,
  }, testInfo) => {
    // The builtin generator ignores seeds: two qualities of one picture make two models.
    for (const [picture, quality] of [
      ['triposr-robot', 'draft'],
      ['triposr-robot', 'standard'],
      ['triposr-chair', 'draft'],
    ] as const) {
      expect(await generate(app, picture, { prompt: '', quality })).toBe('miss')
    }
    // The preview counts what is drawn.
    await expect(app.getByTestId('model-facts')).toContainText(/[\d,]+ triangles · [\d,]+ vertices · texture \d+ × \d+/)

    await app.getByRole('tab', { name: 'Library' }).click()
    await expect(app.getByRole('tab', { name: 'Library' })).toHaveAttribute('aria-selected', 'true')
    await expect(app.getByTestId('library-count')).toHaveText('3 models')
    await app.getByLabel('Search models').fill('robot')
    await expect(app.getByTestId('library-count')).toHaveText('2 models found')
    const robots = app.getByRole('article', { name: 'triposr-robot.png' })
    await expect(robots).toHaveCount(2)

    const first = robots.first()
    const firstKey = (await first.getAttribute('data-key')) ?? ''
    await first.getByRole('button', { name: 'Keep triposr-robot.png' }).click()
    await expect(first.getByRole('button', { name: 'Keep triposr-robot.png' })).toHaveAttribute('aria-pressed', 'true')
    await expect
      .poll(async () => (await appCall(app, 'entries', { kept: true })).items.map((e) => e.key))
      .toEqual([firstKey])

    await first.getByRole('checkbox', { name: 'Compare triposr-robot.png' }).check()
    await robots.nth(1).getByRole('checkbox', { name: 'Compare triposr-robot.png' }).check()
    await app.getByRole('button', { name: 'Compare 2 models' }).click()
    const views = app.getByTestId('compare-view')
    await expect(views).toHaveCount(2)
    for (const view of await views.all()) await expect(view).toHaveAttribute('aria-busy', 'false')
    await expect(app.getByTestId('compare-mesh').first()).toContainText(/[\d,]+ triangles/)
    await expect(app.getByTestId('compare-mesh').nth(1)).toContainText(/[\d,]+ triangles/)
    await expect.poll(() => canvasCoverage(views.nth(1).locator('canvas'))).toBeGreaterThan(0.05)
    // Orbit the first view: the second turns to the same direction, its model still in view.
    const canvas = views.first().locator('canvas')
    const box = await canvas.boundingBox()
    if (!box) throw new Error('the first compared view has no canvas')
    await app.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await app.mouse.down()
    await app.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 30, { steps: 6 })
    await app.mouse.up()
    await expect(views.first()).toHaveAttribute('data-view', /.+/)
    const turned = await views.first().getAttribute('data-view')
    await expect(views.nth(1)).toHaveAttribute('data-view', turned ?? 'missing')
    await expect.poll(() => canvasCoverage(views.nth(1).locator('canvas'))).toBeGreaterThan(0.05)
    await app.screenshot({ path: testInfo.outputPath('compare.png') })
    await testInfo.attach('compare', { path: testInfo.outputPath('compare.png'), contentType: 'image/png' })

    // Open one into the studio's preview, and save it as OBJ.
    await app.getByRole('button', { name: 'Open triposr-robot.png' }).first().click()
    await expect(app.getByRole('tab', { name: 'Studio' })).toHaveAttribute('aria-selected', 'true')
    await expect(app.getByTestId('viewport')).toHaveAttribute('data-model-key', firstKey)
    await expect(app.getByTestId('model-facts')).toContainText(/triangles/)
    const triangles = Number((await app.getByTestId('model-facts').textContent())?.split(' ')[0]?.replace(/,/g, ''))
    await app.getByLabel('Save format').selectOption('obj')
    let obj: string
    if (running.sim) {
      const target = testInfo.outputPath('robot.obj')
      running.sim.answerSaveDialog(target)
      await app.getByRole('button', { name: 'Save OBJ' }).click()
      await expect(app.getByRole('status').filter({ hasText: 'Model saved.' })).toBeVisible()
      obj = readFileSync(target, 'utf8')
      expect(readFileSync(testInfo.outputPath('robot.mtl'), 'utf8')).toContain('map_Kd robot.png')
    } else {
      const downloads: string[] = []
      app.on('download', (download) => downloads.push(download.suggestedFilename()))
      const download = app.waitForEvent('download')
      await app.getByRole('button', { name: 'Save OBJ' }).click()
      obj = readFileSync((await (await download).path()) as string, 'utf8')
      // The MTL and the texture follow it, named alike.
      await expect.poll(() => downloads.map((name) => name.split('.').pop()).sort()).toEqual(['mtl', 'obj', 'png'])
    }
    const loaded = new OBJLoader().parse(obj)
    let vertices = 0
    loaded.traverse((object) => {
      vertices +=
        (object as { geometry?: { attributes: { position?: { count: number } } } }).geometry?.attributes.position
          ?.count ?? 0
    })
    expect(vertices / 3).toBe(triangles)

    // The cache panel counts the kept model apart, and a clear of everything leaves it.
    await expect(app.getByTestId('kept-line')).toContainText('Kept: 1 model on disk')
    await app.getByRole('button', { name: 'Clear cache…' }).click()
    await app.getByRole('button', { name: 'Clear everything' }).click()
    await expect(app.getByText('1 kept model stayed.')).toBeVisible()
    await expect(app.getByTestId('viewport')).toHaveAttribute('data-model-key', firstKey)
    expect((await appCall(app, 'entries')).items.map((e) => e.key)).toEqual([firstKey])
  })

  test('keyboard: the tabs move with the arrow keys, and the search field has its name', async ({ app }) => {
    await app.getByRole('tab', { name: 'Studio' }).focus()
    await app.keyboard.press('ArrowRight')
    await expect(app.getByRole('tab', { name: 'Library' })).toBeFocused()
    await expect(app.getByRole('tabpanel')).toHaveAttribute('id', 'view-library')
    await expect(app.getByRole('searchbox', { name: 'Search models' })).toBeVisible()
    await expect(app.getByTestId('library-count')).toHaveText('No models yet: generate one in the studio.')
    await app.keyboard.press('ArrowLeft')
    await expect(app.getByRole('tab', { name: 'Studio' })).toBeFocused()
  })

  test('2,000 models: the grid draws only what is in view, scrolls to the oldest, and searches them all', async ({
    launch,
  }, testInfo) => {
    await seedLibrary(testInfo.outputPath('data'), 2000)
    const app = await launch()
    await app.getByRole('tab', { name: 'Library' }).click()
    await expect(app.getByTestId('library-count')).toHaveText('2,000 models')
    await expect(app.getByRole('article').first()).toHaveAttribute('aria-label', 'robot-1999.png')
    // Virtual: a few rows of cards exist, not two thousand.
    expect(await app.getByRole('article').count()).toBeLessThan(100)
    const grid = app.getByTestId('library-grid')
    await grid.evaluate((element) => element.scrollTo({ top: element.scrollHeight }))
    // The oldest is last; its page is fetched as it comes into view.
    await expect(app.getByRole('article', { name: 'armchair-0000.png' })).toBeVisible()
    expect(await app.getByRole('article').count()).toBeLessThan(100)

    await app.getByLabel('Search models').fill('armchair')
    await expect(app.getByTestId('library-count')).toHaveText('100 models found')
    await app.getByLabel('Search models').fill('armchair-1960')
    await expect(app.getByTestId('library-count')).toHaveText('1 model found')
    await expect(app.getByRole('article')).toHaveCount(1)
    await app.getByLabel('Search models').fill('')
    await app.getByLabel('Quality').selectOption('high')
    await app.getByLabel('Texture').selectOption('yes')
    // Every third is high quality and every fifth textured: every fifteenth is both.
    await expect(app.getByTestId('library-count')).toHaveText('134 models found')
  })
})
