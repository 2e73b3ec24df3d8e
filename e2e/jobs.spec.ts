import type { Page } from '@playwright/test'
import type { FakeHunyuan } from '../test/support/fake-hunyuan'
import { appCall, expect, image, test } from './fixtures'

/** Sends the chair as a draft job and waits until the fake GPU server has it (and holds it). */
async function chairOnGpu(app: Page, gpu: FakeHunyuan | undefined): Promise<void> {
  await app.getByTestId('image-input').setInputFiles(image('triposr-chair'))
  await expect(app.getByTestId('picked')).toHaveText('triposr-chair.png')
  await app.getByLabel('Quality').selectOption('draft')
  await app.getByRole('button', { name: 'Generate' }).click()
  await expect.poll(async () => (await gpu?.stats())?.received.length).toBe(1)
}

/**
 * The queue as an artist uses it: several pictures at once, the form ready again at once,
 * cancel and retry, and a quit with jobs waiting that finish after the next launch. The GPU
 * server is the fake api_server (2.0), which holds every job until the test lets it go.
 */
test.describe('jobs', () => {
  test.use({ appOptions: { gpu: true } })

  test('a job past the time its GPU server usually takes can be kept waiting, or made by the builtin generator instead', async ({
    launch,
    gpu,
  }) => {
    const app = await launch({ env: { MESHCACHE_HUNYUAN_EXPECTED_MS: '1000' } })
    await chairOnGpu(app, gpu)
    // The fake holds the job: a second later the list says it is taking longer than usual.
    await expect(app.getByTestId('job-slow')).toContainText(`Taking longer than ${gpu?.url} usually takes`)
    await app
      .getByRole('button', { name: 'Make triposr-chair.png with the Builtin silhouette inflation (CPU) instead' })
      .click()
    await expect(app.getByTestId('job')).toHaveAttribute('data-state', 'done')
    const [job] = (await appCall(app, 'jobs')).jobs
    expect(job).toMatchObject({ server: 'builtin', settings: { backend: 'builtin' } })
    await expect(app.getByTestId('job-slow')).toHaveCount(0)
  })

  test('three pictures picked at once become three jobs; the form stays usable; cancel one, retry a failed one', async ({
    app,
    gpu,
  }) => {
    const pictures = ['triposr-chair', 'triposr-robot', 'trellis-lantern'].map(image)
    await app.getByTestId('image-input').setInputFiles(pictures)
    await expect(app.getByTestId('picked')).toContainText('triposr-chair.png and 2 more (one job each)')
    await app.getByLabel('Quality').selectOption('draft')
    await app.getByRole('button', { name: 'Generate' }).click()
    const jobs = app.getByTestId('job')
    await expect(jobs).toHaveCount(3)
    await expect.poll(async () => (await gpu?.stats())?.received.length).toBe(1)
    // The job at the GPU server (either of the first two: both are handed over at once, and
    // one waits in line there) says in words what it is doing, beside its bar.
    await expect(app.getByTestId('job-stage')).toHaveText(/^(Sending to the generator|Generating) · \d+%$/)
    // The form is ready for the next picture at once.
    await expect(app.getByRole('button', { name: 'Generate' })).toBeEnabled()
    await app.getByTestId('image-input').setInputFiles(image('triposr-teapot'))
    // The picked file is read before the form has it: Generate then takes the new picture.
    await expect(app.getByTestId('picked')).toHaveText('triposr-teapot.png')
    await app.getByRole('button', { name: 'Generate' }).click()
    await expect(jobs).toHaveCount(4)
    await expect(jobs.nth(3)).toHaveAttribute('data-state', 'waiting')
    await expect(jobs.nth(3).getByTestId('job-where')).toContainText('in the queue')

    await app.getByRole('button', { name: 'Cancel triposr-teapot.png' }).click()
    await expect(jobs.nth(3)).toHaveAttribute('data-state', 'cancelled')
    // The GPU fails what it has, then works again: a failed job is retried.
    await gpu?.setBehaviour('error')
    await gpu?.release()
    await expect
      .poll(async () => (await appCall(app, 'jobs')).jobs.map((job) => job.state))
      .toEqual(['failed', 'failed', 'failed', 'cancelled'])
    await expect(jobs.nth(0).getByTestId('job-error')).toContainText('The Hunyuan3D server failed')
    await gpu?.setBehaviour('ok')
    for (const name of ['triposr-chair', 'triposr-robot', 'trellis-lantern']) {
      await app.getByRole('button', { name: `Retry ${name}.png` }).click()
    }
    // Retried jobs go to the end of the queue, behind the cancelled one.
    await expect
      .poll(async () => (await appCall(app, 'jobs')).jobs.map((job) => job.state))
      .toEqual(['cancelled', 'done', 'done', 'done'])
    await expect(app.getByTestId('job').filter({ hasText: 'new' })).toHaveCount(3)
    await expect(app).toHaveTitle('MeshCache (3 new)')
    // The jobs list's Open (the cache panel lists the same model under the same name once it refreshes).
    await app.getByTestId('jobs').getByRole('button', { name: 'Open triposr-robot.png' }).click()
    await expect(app.getByTestId('viewport')).toHaveAttribute('aria-busy', 'false')
    await expect(app).toHaveTitle('MeshCache (2 new)')
    // A model without a prompt is titled by its picture's name in the cache panel.
    await expect(app.getByTestId('entries').locator('td.prompt-cell').first()).toContainText('.png')
    await app.getByRole('button', { name: 'Clear finished' }).click()
    await expect(jobs).toHaveCount(0)
  })

  test('a quit with jobs waiting: after the next launch they finish, the interrupted one sent again', async ({
    app,
    gpu,
    launch,
    running,
  }) => {
    await app.getByTestId('image-input').setInputFiles(['triposr-chair', 'triposr-robot', 'trellis-lantern'].map(image))
    await app.getByLabel('Quality').selectOption('draft')
    await app.getByRole('button', { name: 'Generate' }).click()
    await expect(app.getByTestId('job')).toHaveCount(3)
    await expect.poll(async () => (await gpu?.stats())?.received.length).toBe(1)
    await expect.poll(async () => (await appCall(app, 'jobs')).jobs.some((job) => job.server === gpu?.url)).toBe(true)
    await running.quit?.()

    const again = await launch()
    const jobs = again.getByTestId('job')
    await expect(jobs).toHaveCount(3)
    // The fake still holds the job of the app that quit; released, everything runs.
    await gpu?.release()
    await expect
      .poll(async () => (await appCall(again, 'jobs')).jobs.map((job) => job.state))
      .toEqual(['done', 'done', 'done'])
    await expect(again.getByTestId('job-resumed')).toHaveText([/could not be asked for it, so it was sent again/])
    // At most the interrupted job went to the GPU twice.
    expect((await gpu?.stats())?.received).toHaveLength(4)
  })
})

test.describe('a job whose GPU server stops answering', () => {
  test.use({ appOptions: { gpu: true, gpuVariant: '2.1' } })

  test('says for how long its server has not answered, stops once it answers, and asks again when it falls silent again', async ({
    launch,
    gpu,
  }) => {
    const app = await launch({ env: { MESHCACHE_HUNYUAN_STATUS_TIMEOUT_MS: '300' } })
    await chairOnGpu(app, gpu)
    // The fake takes every status poll and answers none of them.
    await gpu?.freeze()
    const notice = app.getByTestId('job-slow')
    await expect(notice).toContainText(`${gpu?.url} has not answered for`)
    await app.getByRole('button', { name: 'Keep waiting for triposr-chair.png' }).click()
    await expect(notice).toHaveCount(0)
    await gpu?.thaw()
    // Answering again, then silent again: a new silence, so the user is asked again.
    await expect.poll(async () => (await appCall(app, 'jobs')).jobs[0]?.silentSince).toBeUndefined()
    await gpu?.freeze()
    await expect(notice).toContainText(`${gpu?.url} has not answered for`)
    await gpu?.thaw()
    await expect(notice).toHaveCount(0)
    await gpu?.release()
    await expect(app.getByTestId('job')).toHaveAttribute('data-state', 'done')
  })
})
