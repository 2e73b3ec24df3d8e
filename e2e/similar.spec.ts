import sharp from 'sharp'
import { appCall, expect, generate, image, test } from './fixtures'

test.describe('similar pictures', () => {
  test('offers the model of a near-identical picture; the user chooses, by keyboard or mouse', async ({
    app,
  }, testInfo) => {
    expect(await generate(app, 'triposr-teapot', { prompt: 'teapot', quality: 'draft', seed: 3 })).toBe('miss')
    // The same picture, re-saved smaller as a JPEG (on white, as an editor does).
    const variant = testInfo.outputPath('teapot-small.jpg')
    await sharp(image('triposr-teapot'))
      .flatten({ background: '#ffffff' })
      .resize(500)
      .jpeg({ quality: 80 })
      .toFile(variant)

    await app.getByTestId('image-input').setInputFiles(variant)
    const offer = app.getByRole('region', { name: 'A model of a near-identical picture is already cached' })
    await expect(offer).toBeVisible()
    await expect(offer.getByRole('img')).toHaveCount(2)
    await expect(offer.getByTestId('similar-distance')).toHaveText(/^looks (identical|the same|nearly the same)$/)
    await testInfo.attach('offer', { body: await app.screenshot(), contentType: 'image/png' })

    // Keyboard: from Random, the offer's first button comes next.
    await app.getByRole('button', { name: 'Random' }).focus()
    await app.keyboard.press('Tab')
    await expect(offer.getByRole('button', { name: 'Use this model' })).toBeFocused()
    await app.keyboard.press('Enter')
    await expect(app.getByTestId('result')).toHaveAttribute('data-cache', 'similar')
    await expect(app.getByTestId('result')).toContainText('near-identical picture')
    await expect(offer).toBeHidden()
    expect(await appCall(app, 'stats')).toMatchObject({ loads: 1, similarReuses: 1 })

    // Mouse: the same picture again, and this time a model of its own.
    await app.getByTestId('image-input').setInputFiles(variant)
    await offer.getByRole('button', { name: 'Generate anyway' }).click()
    await expect(app.getByTestId('result')).toHaveAttribute('data-cache', 'miss')
    expect((await appCall(app, 'stats')).loads).toBe(2)
  })

  test('offers nothing when the settings differ: another quality is another model', async ({ app }, testInfo) => {
    await generate(app, 'triposr-robot', { quality: 'draft', seed: 1 })
    const variant = testInfo.outputPath('robot.webp')
    await sharp(image('triposr-robot')).webp({ quality: 80 }).toFile(variant)
    await app.getByLabel('Quality').selectOption('standard')
    await app.getByTestId('image-input').setInputFiles(variant)
    // Let the check answer, then make sure no offer came.
    await expect.poll(async () => (await appCall(app, 'stats')).similarOffers, { timeout: 3_000 }).toBe(0)
    await app.getByLabel('Quality').selectOption('draft')
    await expect(app.getByTestId('similar-offer')).toBeVisible()
  })
})
