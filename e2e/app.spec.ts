import { startFakeHunyuan } from '../test/support/fake-hunyuan'
import { appCall, expect, generate, image, modelCoverage, statValue, test, textFile } from './fixtures'

test.describe('MeshCache', () => {
  test('generates a model from a picture and shows it in the preview', async ({ app }, testInfo) => {
    await expect(app.getByTestId('backend-status')).toContainText('Builtin silhouette inflation (CPU)')
    expect(await generate(app, 'triposr-teapot', { prompt: 'a red teapot', quality: 'draft' })).toBe('miss')
    await expect(app.getByTestId('result')).toContainText('Generated')
    await expect.poll(() => modelCoverage(app), { message: 'the model is drawn' }).toBeGreaterThan(0.05)
    await app.screenshot({ path: testInfo.outputPath('generated.png') })
    await testInfo.attach('generated', { path: testInfo.outputPath('generated.png'), contentType: 'image/png' })
    await expect(app.getByRole('button', { name: 'Wireframe' })).toBeEnabled()
    await app.getByRole('button', { name: 'Wireframe' }).click()
    await expect(app.getByRole('button', { name: 'Wireframe' })).toHaveAttribute('aria-pressed', 'true')
    await app.getByRole('button', { name: 'Reset view' }).click()
    await expect.poll(() => modelCoverage(app)).toBeGreaterThan(0.01)
  })

  test('the same request again is a cache hit', async ({ app }) => {
    const before = await appCall(app, 'stats')
    expect(await generate(app, 'triposr-chair', { prompt: 'chair', quality: 'draft', seed: 5 })).toBe('miss')
    await app.getByRole('button', { name: 'Generate' }).click()
    await expect(app.getByTestId('result')).toHaveAttribute('data-cache', 'hit')
    await expect(app.getByTestId('result')).toContainText('Cache hit')
    await expect(app.getByTestId('result')).toContainText('of generation')
    // What the user waited for: from the click until the model was drawn, beside the app's own time.
    await expect(app.getByTestId('shown-ms')).toContainText(/on screen .* after the click \(the app answered in/)
    const after = await appCall(app, 'stats')
    expect(after.hits - before.hits).toBe(1)
    expect(after.loads - before.loads).toBe(1)
    await expect(app.getByTestId('stat-hit-rate')).toContainText(`${after.hits} hits`)
  })

  test('a double click on Generate runs one generation', async ({ app }) => {
    const before = await appCall(app, 'stats')
    await app.getByTestId('image-input').setInputFiles(image('triposr-robot'))
    await expect(app.getByTestId('picked')).toHaveText('triposr-robot.png')
    await app.getByLabel('Quality').selectOption('draft')
    await app.getByRole('button', { name: 'Generate' }).dblclick()
    await expect(app.getByTestId('result')).toBeVisible()
    const after = await appCall(app, 'stats')
    expect(after.loads - before.loads).toBe(1)
    expect(after.misses - before.misses).toBe(1)
    expect(after.coalesced - before.coalesced).toBe(0)
    expect(after.currentItems).toBe(1)
  })

  test('entries open in the preview; delete and clear update stats and table', async ({ app }) => {
    await generate(app, 'triposr-flamingo', { prompt: 'flamingo', quality: 'draft' })
    await generate(app, 'triposr-hamburger', { prompt: 'hamburger', quality: 'draft' })
    const rows = app.getByTestId('entries').locator('tbody tr')
    await expect(rows).toHaveCount(2)
    await expect.poll(() => statValue(app, 'items')).toBe('2')

    const flamingoRow = rows.filter({ hasText: 'flamingo' })
    const flamingoKey = await flamingoRow.getAttribute('data-key')
    await app.getByRole('button', { name: 'Open flamingo' }).click()
    await expect(app.getByTestId('viewport')).toHaveAttribute('data-model-key', flamingoKey ?? 'missing')
    await expect.poll(() => modelCoverage(app)).toBeGreaterThan(0.02)

    await app.getByRole('button', { name: 'Delete flamingo' }).click()
    await expect(rows).toHaveCount(1)
    await expect.poll(() => statValue(app, 'items')).toBe('1')

    await app.getByRole('button', { name: 'Clear cache…' }).click()
    await app.getByRole('button', { name: 'Keep them' }).click()
    await expect(rows).toHaveCount(1)
    await app.getByRole('button', { name: 'Clear cache…' }).click()
    await app.getByRole('button', { name: 'Clear everything' }).click()
    await expect(app.getByTestId('entries-empty')).toBeVisible()
    await expect.poll(() => statValue(app, 'items')).toBe('0')
    await expect.poll(() => statValue(app, 'memory')).toBe('0 B')
  })

  test('clearing memory only keeps models on disk, and they come back as hits from disk', async ({ app }) => {
    await generate(app, 'triposr-robot', { prompt: 'robot', quality: 'draft', seed: 21 })
    await expect(app.getByTestId('stat-disk')).toContainText('1 model ·')
    // The preview's download of the model is a use that brings it back to memory: let it land first.
    await expect(app.getByTestId('viewport')).toHaveAttribute('aria-busy', 'false')
    await app.getByRole('button', { name: 'Clear cache…' }).click()
    await app.getByRole('button', { name: 'Memory only' }).click()
    await expect.poll(() => statValue(app, 'items')).toBe('0')
    const row = app.getByTestId('entries').locator('tbody tr')
    await expect(row).toHaveCount(1)
    await expect(row.locator('.tier')).toHaveText('disk')
    await app.getByRole('button', { name: 'Generate' }).click()
    await expect(app.getByTestId('result')).toContainText('Cache hit (from disk)')
    await expect(row.locator('.tier')).toHaveText('memory')
  })

  test('sorting the entries table by a column', async ({ app }) => {
    await generate(app, 'trellis-pyramid', { prompt: 'b pyramid', quality: 'draft' })
    await generate(app, 'trellis-character', { prompt: 'a character', quality: 'draft' })
    const prompts = app.getByTestId('entries').locator('tbody tr td.prompt-cell')
    await app.getByRole('button', { name: 'Prompt' }).click()
    await expect(prompts.first()).toContainText('b pyramid')
    await app.getByRole('button', { name: 'Prompt' }).click()
    await expect(prompts.first()).toContainText('a character')
  })

  test('lowering the memory limit evicts, and the cards and chart follow', async ({ app }, testInfo) => {
    for (const picture of ['triposr-teapot', 'triposr-chair', 'triposr-hamburger'])
      await generate(app, picture, { quality: 'standard' })
    await expect.poll(() => statValue(app, 'items')).toBe('3')
    const chart = app.getByTestId('history-chart')
    const memoryBefore = Number(await chart.getAttribute('data-last-memory-mb'))
    expect(memoryBefore).toBeGreaterThan(2)

    await app.getByLabel('Max memory (MB)').fill('1')
    // A refresh while the user edits (here another client changes a limit) keeps what they typed.
    await appCall(app, 'setConfig', { maxItems: 999 })
    await expect(app.getByTestId('stat-items')).toContainText('limit 999')
    await expect(app.getByLabel('Max memory (MB)')).toHaveValue('1')
    await app.getByRole('button', { name: 'Save limits' }).click()
    await expect.poll(() => statValue(app, 'evictions')).not.toBe('0')
    await expect.poll(async () => Number(await statValue(app, 'items'))).toBeLessThanOrEqual(1)
    await expect.poll(async () => Number(await chart.getAttribute('data-last-memory-mb'))).toBeLessThan(1.01)
    await app.screenshot({ path: testInfo.outputPath('after-eviction.png') })

    await app.getByLabel('Max memory (MB)').fill('0')
    await app.getByRole('button', { name: 'Save limits' }).click()
    await expect(app.getByText('Enter a whole number of megabytes from 1 to 65,536.')).toBeVisible()
    await app.getByLabel('Max models').fill('lots')
    await app.getByRole('button', { name: 'Save limits' }).click()
    await expect(app.getByText('Enter a whole number of models from 1 to 1,000,000.')).toBeVisible()
  })

  test('a bad file shows an error next to the picker, and the app stays usable', async ({ app }) => {
    await app
      .getByTestId('image-input')
      .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') })
    await expect(app.getByText('This file is not a PNG, JPEG or WebP image.')).toBeVisible()

    // Claims to be a PNG, is not: the main process finds out and says so.
    await app.getByTestId('image-input').setInputFiles(textFile())
    await app.getByRole('button', { name: 'Generate' }).click()
    await expect(app.getByRole('alert').filter({ hasText: 'not a PNG, JPEG or WebP' })).toBeVisible()

    expect(await generate(app, 'triposr-robot', { quality: 'draft', seed: 9 })).toBe('miss')
    await expect(app.getByRole('alert').filter({ hasText: 'not a PNG' })).toHaveCount(0)
  })

  test('works by keyboard alone', async ({ app }) => {
    await app.getByTestId('image-input').setInputFiles(image('triposr-chair'))
    await expect(app.getByTestId('picked')).toHaveText('triposr-chair.png')
    await app.getByLabel('Quality').selectOption('draft')
    await app.getByLabel('Seed').focus()
    await app.keyboard.press('Tab') // Random
    await expect(app.getByRole('button', { name: 'Random' })).toBeFocused()
    await app.keyboard.press('Tab') // Variants
    await expect(app.getByLabel('Variants')).toBeFocused()
    await app.keyboard.press('Tab') // Generate
    await expect(app.getByRole('button', { name: 'Generate' })).toBeFocused()
    await app.keyboard.press('Enter')
    await expect(app.getByTestId('result')).toHaveAttribute('data-cache', 'miss')
  })

  test('lays out at 1920×1080 with everything in view', async ({ app }, testInfo) => {
    await app.setViewportSize({ width: 1920, height: 1080 })
    await generate(app, 'trellis-lantern', { prompt: 'lantern', quality: 'standard' })
    await expect.poll(() => modelCoverage(app)).toBeGreaterThan(0.02)
    for (const name of ['New model', 'Preview', 'Cache']) {
      await expect(app.getByRole('heading', { name, exact: true })).toBeInViewport()
    }
    const overflow = await app.evaluate('document.documentElement.scrollWidth > window.innerWidth')
    expect(overflow).toBe(false)
    await app.screenshot({ path: testInfo.outputPath('main-1920.png') })
  })

  test('chooses to keep what was expensive to make, and compares the policies on its own requests', async ({ app }) => {
    for (const quality of ['draft', 'standard', 'draft']) await generate(app, 'triposr-flamingo', { quality })
    await app.getByLabel('When full').selectOption({ label: 'Keep what was expensive to make' })
    await app.getByRole('button', { name: 'Save limits' }).click()
    await expect.poll(async () => (await appCall(app, 'getConfig')).policy).toBe('gdsf')
    await expect(app.getByTestId('stat-saved')).toBeVisible()
    const comparison = app.getByTestId('policy-comparison')
    await expect(comparison).toContainText('On your last 3 requests')
    await expect(comparison.locator('[data-policy="lru"]')).toContainText('keep recently used')
    await expect(comparison.locator('[data-policy="gdsf"]')).toContainText('keep what was expensive to make')
  })

  test('adds a GPU server in the settings, uses it for the next request, keeps it, and removes it', async ({
    app,
    launch,
    running,
  }) => {
    const fake = await startFakeHunyuan()
    try {
      await expect(app.getByTestId('backend-status')).toContainText('the builtin CPU generator is in use')
      await app.getByRole('button', { name: 'Add a GPU server' }).click()
      await expect(app.getByLabel('Server URL')).toBeFocused()
      await app.getByLabel('Server URL').fill('http://not a url')
      await app.getByRole('button', { name: 'Test' }).click()
      await expect(app.getByTestId('server-message')).toContainText('url must be an http:// or https:// address')
      await app.getByLabel('Server URL').fill(fake.url)
      await app.getByRole('button', { name: 'Test' }).click()
      await expect(app.getByTestId('server-message')).toContainText('Hunyuan3D 2.0 answered in')
      await app.getByRole('button', { name: 'Add server' }).click()
      await expect(app.getByTestId('gpu-server')).toContainText(fake.url)
      await expect(app.getByTestId('backend-status')).toContainText('Hunyuan3D-2.0')
      await generate(app, 'triposr-teapot', { quality: 'draft' })
      expect((await fake.stats()).received).toHaveLength(1)
      // Kept across a restart of the app.
      if (running.sim) await running.sim.quit()
      const again = running.sim ? await launch() : app
      if (!running.sim) await again.reload()
      await expect(again.getByTestId('gpu-server')).toContainText(fake.url)
      await again.getByTestId('gpu-server').getByRole('button', { name: 'Remove' }).click()
      await expect(again.getByTestId('gpu-server')).toHaveCount(0)
      expect(await generate(again, 'triposr-chair', { quality: 'draft' })).toBe('miss')
      // Made by the builtin generator: the server got nothing more.
      const newest = (await appCall(again, 'entries', { sort: 'createdAt', order: 'desc' })).items[0]
      expect(newest?.meta.backend).toBe('builtin')
      expect((await fake.stats()).received).toHaveLength(1)
    } finally {
      await fake.close()
    }
  })

  test('adds GPU servers with their models, and the form offers the Model choice', async ({ app }) => {
    const full = await startFakeHunyuan({
      weights: { modelPath: 'tencent/Hunyuan3D-2', subfolder: 'hunyuan3d-dit-v2-0' },
    })
    const sampler = await startFakeHunyuan({ variant: '2.1' })
    try {
      const servers = app.getByRole('form', { name: 'Add a GPU server' })
      const modelField = servers.getByLabel('Model (the weights it runs)')
      await servers.getByLabel('Server URL').fill(full.url)
      await servers.getByRole('button', { name: 'Test' }).click()
      // Upstream's default is shown; this server runs other weights, so the user corrects it.
      await expect(modelField).toHaveValue('Hunyuan3D-2mini-Turbo')
      await expect(app.getByTestId('server-message')).toContainText('Its default model is Hunyuan3D-2mini-Turbo')
      await modelField.fill('hunyuan3d-2')
      await servers.getByRole('button', { name: 'Add server' }).click()
      await expect(app.getByTestId('server-message')).toContainText('running Hunyuan3D-2:')
      // Only one model so far: nothing to choose.
      await expect(app.getByLabel('Model', { exact: true })).toHaveCount(0)
      await servers.getByLabel('Server URL').fill(sampler.url)
      await servers.getByRole('button', { name: 'Add server' }).click()
      const listed = app.getByTestId('server-model')
      await expect(listed).toHaveText([/Model: Hunyuan3D-2\b/, /Model: Hunyuan3D-2\.1 \(upstream's default\)/])

      const choice = app.getByLabel('Model', { exact: true })
      await expect(choice).toHaveValue('Hunyuan3D-2')
      await expect(app.getByTestId('seed-is-sample')).toHaveCount(0)
      await choice.selectOption('Hunyuan3D-2.1')
      await expect(app.getByTestId('seed-is-sample')).toContainText('ignores the seed: each seed is one sample')
      expect(await generate(app, 'triposr-teapot', { quality: 'draft', seed: 3 })).toBe('miss')
      expect([(await full.stats()).received.length, (await sampler.stats()).received.length]).toEqual([0, 1])
      await choice.selectOption('Hunyuan3D-2')
      await expect(app.getByTestId('seed-is-sample')).toHaveCount(0)
      expect(await generate(app, 'triposr-teapot', { quality: 'draft', seed: 3 })).toBe('miss')
      expect([(await full.stats()).received.length, (await sampler.stats()).received.length]).toEqual([1, 1])
      // Every entry names the model that made it.
      await expect(app.getByTestId('entries').getByTestId('entry-model')).toHaveText(['Hunyuan3D-2', 'Hunyuan3D-2.1'])
      // Restarted with other weights: the user names them, and new requests are keyed for them.
      await app.getByRole('button', { name: `Change the model of ${full.url}` }).click()
      await app.getByLabel(`Model of ${full.url}`).fill('My fine-tune')
      await app.getByRole('button', { name: 'Save model' }).click()
      await expect(listed.first()).toHaveText(/Model: My fine-tune/)
      await expect(choice.locator('option')).toHaveText(['My fine-tune', 'Hunyuan3D-2.1'])
      expect(await generate(app, 'triposr-teapot', { quality: 'draft', seed: 3 })).toBe('miss')
      expect((await full.stats()).received).toHaveLength(2)
    } finally {
      await Promise.all([full.close(), sampler.close()])
    }
  })

  test.describe('with a GPU server whose jobs wait for the test', () => {
    test.use({ appOptions: { gpu: true } })

    test('a textured request after an untextured one textures the cached shape; a busy GPU is shown busy', async ({
      app,
      gpu,
    }) => {
      await app.getByTestId('image-input').setInputFiles(image('triposr-chair'))
      await expect(app.getByTestId('picked')).toHaveText('triposr-chair.png')
      await app.getByRole('button', { name: 'Generate' }).click()
      await expect.poll(async () => (await gpu?.stats())?.received.length).toBe(1)
      await expect.poll(async () => (await appCall(app, 'backends'))[0]?.state).toBe('busy')
      await gpu?.release()
      await expect(app.getByTestId('result')).toHaveAttribute('data-cache', 'miss')
      await app.getByLabel('Texture', { exact: true }).check()
      await app.getByRole('button', { name: 'Generate' }).click()
      await expect(app.getByTestId('shape-reused')).toBeVisible()
      expect(await gpu?.stats()).toMatchObject({ shape_jobs: 1, texture_jobs: 1 })
      await expect(app.getByTestId('stat-shapes')).toContainText('1 textured request')
    })

    test('cancel stops a running generation and caches nothing', async ({ app, gpu }) => {
      await expect(app.getByTestId('backend-status')).toContainText('Hunyuan3D-2')
      await app.getByTestId('image-input').setInputFiles(image('trellis-lantern'))
      await expect(app.getByTestId('picked')).toHaveText('trellis-lantern.png')
      await app.getByRole('button', { name: 'Generate' }).click()
      // The job is with the server, and stays there until the test says otherwise.
      await expect.poll(async () => (await gpu?.stats())?.received.length).toBe(1)
      await expect(app.getByTestId('stage')).toContainText(/Sending to the generator|Generating/)
      await app.getByRole('button', { name: 'Cancel', exact: true }).click()
      await expect(app.getByTestId('generate-error')).toHaveText('Generation cancelled.')
      await expect(app.getByRole('button', { name: 'Generate' })).toBeEnabled()
      // Upstream keeps generating a job whose client left (its loop is held); nothing is cached here.
      await expect.poll(() => appCall(app, 'stats')).toMatchObject({ currentItems: 0, inFlight: 0, cancelled: 1 })
      await gpu?.release()
      await expect.poll(async () => (await gpu?.stats())?.completed).toBe(1)
      await expect.poll(() => appCall(app, 'stats')).toMatchObject({ currentItems: 0, loads: 0 })
    })
  })
})
