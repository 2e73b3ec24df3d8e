import { afterEach, describe, expect, it } from 'vitest'
import type { GenerateProgress } from '../../src/core/generation/generator'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import { HunyuanServer } from '../../src/core/generation/hunyuan/hunyuan-server'
import type { ModelService } from '../../src/core/service/model-service'
import { appAddresses } from '../../src/shared/addresses'
import { codeOf } from '../support/code-of'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { type LyingServer, startLyingServer } from '../support/lying-server'
import { makeService } from '../support/stacks'
import { until } from '../support/until'

/**
 * GPU servers that go silent (a hung box: test/support/lying-server.ts, 'hung'): a request
 * waiting on one ends when cancelled, at once and in every state, and its id is free again.
 */

const liars: LyingServer[] = []
const services: ModelService[] = []
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()))
  await Promise.all(liars.splice(0).map((l) => l.close()))
})

async function serviceOnHungServer(): Promise<{ service: ModelService; server: LyingServer }> {
  const server = await startLyingServer('hung')
  liars.push(server)
  const service = await makeService({ generators: [new GatedGenerator()], pool: new HunyuanPool([]) }, appAddresses)
  services.push(service)
  await service.addBackend({ url: server.url, concurrency: 1, texture: false })
  return { service, server }
}

const request = (seed: number, requestId: string) => ({
  image: fixture('triposr-robot'),
  prompt: '',
  quality: 'draft' as const,
  seed,
  reuse: 'exact' as const,
  requestId,
})

describe('a GPU server that stops answering', () => {
  it('ends a running request when it is cancelled, and frees its id', async () => {
    const { service, server } = await serviceOnHungServer()
    const running = service.generate(request(1, 'hung-1'))
    await until(() => (server.asked.get('/generate') ?? 0) === 1, 'the job sent to the server')
    expect(await service.cancel({ requestId: 'hung-1' })).toEqual({ cancelled: true })
    expect(await codeOf(running)).toBe('CANCELLED')
    // The id is free: a new request may take it (and is cancelled in turn).
    const again = service.generate(request(2, 'hung-1'))
    await until(async () => (await service.cancel({ requestId: 'hung-1' })).cancelled, 'the id taken again')
    expect(await codeOf(again)).toBe('CANCELLED')
  })

  it('ends a request waiting behind a silent one when it is cancelled', async () => {
    const { service, server } = await serviceOnHungServer()
    const first = service.generate(request(1, 'first'))
    await until(() => (server.asked.get('/generate') ?? 0) === 1, 'the first job sent')
    // The server takes one job at a time: the second waits for the first.
    const second = service.generate(request(2, 'second'))
    await until(async () => (await service.cancel({ requestId: 'second' })).cancelled, 'the second waiting')
    expect(await codeOf(second)).toBe('CANCELLED')
    expect(server.asked.get('/generate')).toBe(1)
    await service.cancel({ requestId: 'first' })
    expect(await codeOf(first)).toBe('CANCELLED')
  })

  it('ends at once, saying so, the request running on a server the user removes (it was polled until the deadline)', async () => {
    const { service, server } = await serviceOnHungServer()
    const running = service.generate(request(1, 'on-removed'))
    await until(() => (server.asked.get('/generate') ?? 0) === 1, 'the job sent to the server')
    const [gpu] = (await service.backends()).find((backend) => backend.gpu)?.servers ?? []
    await service.removeBackend({ id: gpu?.id as string })
    await expect(running).rejects.toMatchObject({
      code: 'BACKEND_FAILED',
      message: expect.stringContaining(`The GPU server at ${server.url} was removed while this request was on it`),
    })
    // Its id is free again.
    expect(await service.cancel({ requestId: 'on-removed' })).toEqual({ cancelled: false })
  })

  it('is listed as not answering for how long, not as "probably generating", and ready again once it answers', async () => {
    const liar = await startLyingServer('hung')
    liars.push(liar)
    const server = new HunyuanServer({ url: liar.url, probeTimeoutMs: 200 })
    expect(await server.describe()).toMatchObject({ state: 'ready', variant: '2.0' })
    liar.silent = true
    const silent = await server.describe()
    expect(silent.state).toBe('busy')
    expect(silent.detail).toMatch(
      new RegExp(
        `^The Hunyuan3D server at ${liar.url} has not answered for \\d+ s: it may be generating for another client, or hung\\.$`,
      ),
    )
    liar.silent = false
    expect(await server.describe()).toMatchObject({ state: 'ready' })
  })

  it("says since when a job's server has not answered its status polls, and stops once it answers again", async () => {
    const liar = await startLyingServer('hung')
    liars.push(liar)
    const server = new HunyuanServer({ url: liar.url, mode: 'send', pollMs: 20, statusTimeoutMs: 150 })
    const seen: GenerateProgress[] = []
    const controller = new AbortController()
    const job = codeOf(
      server.generate(
        { image: fixture('triposr-chair'), prompt: '', quality: 'draft', seed: 1 },
        { signal: controller.signal, onProgress: (progress) => seen.push(progress) },
      ),
    )
    const polls = (): number =>
      [...liar.asked].filter(([path]) => path.startsWith('/status/')).reduce((n, [, c]) => n + c, 0)
    await until(() => polls() >= 2, 'the job is polled')
    expect(seen.some((progress) => progress.silentSince !== undefined)).toBe(false)
    const before = Date.now()
    liar.silent = true
    await until(() => seen.at(-1)?.silentSince !== undefined, 'the job says its server is silent')
    // Since the first poll it did not answer (that poll's timeout before it was noticed).
    expect(seen.at(-1)?.silentSince).toBeGreaterThanOrEqual(before - 150)
    expect(seen.at(-1)).toMatchObject({ stage: 'generating', server: liar.url })
    liar.silent = false
    await until(() => seen.at(-1)?.silentSince === undefined, 'the job no longer says so')
    controller.abort()
    expect(await job).toBe('CANCELLED')
  })

  it('is unreachable, not busy, when it drops every connection: a request goes to another generator and says why', async () => {
    const { service, server } = await serviceOnHungServer()
    server.dropping = true
    const [listed] = (await service.backends()).find((backend) => backend.gpu)?.servers ?? []
    expect(listed).toMatchObject({ state: 'unreachable' })
    expect(listed?.detail).not.toMatch(/busy|generating/)
    const result = await service.generate(request(1, 'dropped'))
    expect(result).toMatchObject({ backend: 'gated', fallback: expect.stringContaining('No GPU server is reachable') })
  })

  it('lets a job stuck on a silent server be run on another generator instead, without its GPU weights', async () => {
    const { service, server } = await serviceOnHungServer()
    const [gpu] = (await service.backends()).find((backend) => backend.gpu)?.servers ?? []
    const { jobs } = await service.submitJobs({
      requests: [{ ...request(1, 'stuck'), texture: false, model: gpu?.model as string, pictureName: 'robot.png' }],
    })
    const id = jobs[0]?.id as string
    await until(() => (server.asked.get('/generate') ?? 0) === 1, 'the job sent to the server')
    await service.cancelJob({ id })
    const retried = await service.retryJob({ id, backend: 'gated' })
    expect(retried.settings).toMatchObject({ backend: 'gated' })
    expect(retried.settings.model).toBeUndefined()
    await until(async () => (await service.jobs()).jobs.find((job) => job.id === id)?.state === 'done', 'done')
    expect((await service.jobs()).jobs.find((job) => job.id === id)).toMatchObject({
      server: 'gated',
      pictureName: 'robot.png',
    })
  })
})
