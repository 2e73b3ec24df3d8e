import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { dispatch, whenReady } from '../../../src/core/dispatch'
import { BuiltinGenerator } from '../../../src/core/generation/builtin/builtin-generator'
import type { Generator } from '../../../src/core/generation/generator'
import { HunyuanPool } from '../../../src/core/generation/hunyuan/hunyuan-pool'
import type { ModelService } from '../../../src/core/service/model-service'
import { appAddresses } from '../../../src/shared/addresses'
import type { CacheChangedEvent, ProgressEvent } from '../../../src/shared/contract'
import type { OperationHandlers, OperationInput, ServiceOperationName } from '../../../src/shared/operations'
import { codeOf } from '../../support/code-of'
import { type FakeHunyuan, startFakeHunyuan } from '../../support/fake-hunyuan'
import { BUILTIN_WORKER, fixture } from '../../support/fixtures'
import { GatedGenerator } from '../../support/gated-generator'
import { makeService } from '../../support/stacks'
import { until } from '../../support/until'

/** Where pictures wait on disk (scratch-files.ts). */
const SCRATCH = join(tmpdir(), 'meshcache-pixels')
const builtin = (): BuiltinGenerator => new BuiltinGenerator({ workerPath: BUILTIN_WORKER })
const chair = fixture('triposr-chair')
const request = (overrides: Record<string, unknown> = {}) => ({
  image: chair,
  prompt: 'a chair',
  quality: 'draft',
  seed: 7,
  ...overrides,
})

let services: ModelService[] = []
let fake: FakeHunyuan | undefined
afterEach(async () => {
  await Promise.all(services.map((s) => s.close()))
  services = []
  await fake?.close()
  fake = undefined
})

async function service(generators: Generator[] = [builtin()], options: { maxBytes?: number; disk?: boolean } = {}) {
  const svc = await makeService(
    { generators, limits: { maxBytes: options.maxBytes }, disk: options.disk ?? false },
    appAddresses,
  )
  services.push(svc)
  return svc
}

/** Calls an operation the way a transport does: raw input, validated at the edge. */
function call<K extends ServiceOperationName>(svc: ModelService, name: K, input?: OperationInput<K> | unknown) {
  return dispatch(whenReady(Promise.resolve(svc)) as unknown as Pick<OperationHandlers, K>, name, input)
}

describe('ModelService', () => {
  it('generates with the builtin generator, then serves the same request from memory with the same bytes', async () => {
    const svc = await service()
    const first = await call(svc, 'generate', request())
    expect(first).toMatchObject({
      cache: 'miss',
      backend: 'builtin',
      stored: true,
      modelUrl: `/models/${first.key}.glb`,
    })
    const bytes = await svc.model(first.key)
    expect(bytes?.byteLength).toBe(first.bytes)
    const second = await call(svc, 'generate', request({ prompt: '  a   chair ' }))
    expect(second).toMatchObject({ cache: 'hit', key: first.key, bytes: first.bytes, generationMs: first.generationMs })
    expect(await svc.model(second.key)).toBe(bytes)
    const stats = await svc.stats()
    expect(stats).toMatchObject({ hits: 1, misses: 1, loads: 1, currentItems: 1 })
    expect(stats.savedMs).toBeGreaterThan(0)
  })

  it('caches nothing when a generation fails, and every caller sees the error', async () => {
    fake = await startFakeHunyuan({ behaviour: 'error', held: true })
    const svc = await service([new HunyuanPool([fake.url]), builtin()])
    const calls = Array.from({ length: 3 }, () => call(svc, 'generate', request({ backend: 'hunyuan3d-2' })))
    await until(async () => (await svc.stats()).coalesced === 2, 'two requests joined')
    // Settled before the release: the failure may reach the callers before release() answers.
    const outcomes = Promise.allSettled(calls)
    await fake.release()
    // Upstream's own words: its every failure carries the same generic text.
    for (const outcome of await outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'BACKEND_FAILED', message: /HIGH TRAFFIC/ } })
    }
    expect((await fake.stats()).received).toHaveLength(1)
    expect(await svc.stats()).toMatchObject({ currentItems: 0, loadFailures: 1, loads: 0 })
  })

  it('prefers a reachable Hunyuan3D server and falls back to the builtin generator', async () => {
    fake = await startFakeHunyuan()
    const up = await service([new HunyuanPool([fake.url]), builtin()])
    expect((await up.backends()).map((b) => [b.id, b.available, b.isDefault])).toEqual([
      ['hunyuan3d-2', true, true],
      ['builtin', true, false],
    ])
    expect((await call(up, 'generate', request())).backend).toBe('hunyuan3d-2')

    const down = await service([new HunyuanPool(['http://127.0.0.1:9']), builtin()])
    const fellBack = await call(down, 'generate', request())
    expect(fellBack.backend).toBe('builtin')
    // The answer says why the builtin generator made it.
    expect(fellBack.fallback).toMatch(/No GPU server is reachable/)
    expect(await codeOf(call(down, 'generate', request({ backend: 'hunyuan3d-2' })))).toBe('BACKEND_UNAVAILABLE')
    expect(await codeOf(call(down, 'generate', request({ backend: 'nope' })))).toBe('INVALID_REQUEST')
  })

  it('queues a second request behind a busy GPU and has the GPU make it, never the builtin generator', async () => {
    fake = await startFakeHunyuan({ held: true })
    const svc = await service([new HunyuanPool([fake.url]), builtin()])
    const progress: ProgressEvent[] = []
    svc.events.on('progress', (event) => progress.push(event))
    const first = call(svc, 'generate', request({ seed: 1, requestId: 'first' }))
    await fake.untilReceived(1)
    const second = call(svc, 'generate', request({ seed: 2, requestId: 'second' }))
    await until(() => progress.some((p) => p.requestId === 'second' && p.stage === 'queued'), 'the second waits')
    expect(progress.find((p) => p.requestId === 'second' && p.stage === 'queued')?.position).toBe(1)
    // The server's loop is held by the first job: it is busy, not unreachable.
    const [gpu] = await svc.backends()
    expect(gpu).toMatchObject({ id: 'hunyuan3d-2', state: 'busy', available: true, isDefault: true })
    await fake.release()
    expect(await first).toMatchObject({ backend: 'hunyuan3d-2', cache: 'miss' })
    const made = await second
    expect(made).toMatchObject({ backend: 'hunyuan3d-2', cache: 'miss' })
    expect(made.fallback).toBeUndefined()
    expect((await fake.stats()).completed).toBe(2)
  })

  it('textures a cached untextured shape instead of making it again (2.0), and counts the GPU time saved', async () => {
    fake = await startFakeHunyuan()
    const svc = await service([new HunyuanPool([fake.url]), builtin()])
    const plain = await call(svc, 'generate', request({ texture: false }))
    const textured = await call(svc, 'generate', request({ texture: true }))
    expect(textured.key).not.toBe(plain.key)
    expect(textured.shapeReused).toBe(true)
    expect(await fake.stats()).toMatchObject({ shape_jobs: 1, texture_jobs: 1 })
    expect((await fake.stats()).received[1]).toMatchObject({ texture: true, mesh: { length: expect.any(Number) } })
    const stats = await svc.stats()
    expect(stats.shapeReuses).toBe(1)
    expect(stats.shapeSavedMs).toBe(plain.generationMs)
    // Asked again with only a field 2.0 ignores (the prompt), it is the same model: a hit.
    expect(await call(svc, 'generate', request({ texture: true, prompt: 'another label' }))).toMatchObject({
      cache: 'hit',
      key: textured.key,
    })
  })

  it('says a shape was reused only for the generation that reused it, not a later one after a failure', async () => {
    fake = await startFakeHunyuan()
    const svc = await service([new HunyuanPool([fake.url]), builtin()])
    const plain = await call(svc, 'generate', request({ texture: false }))
    await fake.setBehaviour('error')
    expect(await codeOf(call(svc, 'generate', request({ texture: true })))).toBe('BACKEND_FAILED')
    // The shape leaves the cache; the textured model is then made whole, from the picture.
    await call(svc, 'deleteEntry', { key: plain.key })
    await fake.setBehaviour('ok')
    const textured = await call(svc, 'generate', request({ texture: true }))
    expect(textured.cache).toBe('miss')
    expect(textured.shapeReused).toBeUndefined()
    expect((await fake.stats()).received.at(-1)).not.toHaveProperty('mesh')
    // Nothing was saved by the reuse that failed.
    expect(await svc.stats()).toMatchObject({ shapeReuses: 0, shapeSavedMs: 0 })
  })

  it('keeps a generation going while another request still waits for it', async () => {
    const gated = new GatedGenerator()
    const svc = await service([gated])
    gated.hold()
    const leaving = call(svc, 'generate', request({ requestId: 'a' }))
    await gated.jobsStarted(1)
    const staying = call(svc, 'generate', request({ requestId: 'b' }))
    await until(async () => (await svc.stats()).coalesced === 1, 'one request joined')
    const leavingCode = codeOf(leaving)
    expect(await call(svc, 'cancel', { requestId: 'a' })).toEqual({ cancelled: true })
    expect(await leavingCode).toBe('CANCELLED')
    expect(gated.running).toBe(1)
    gated.release()
    expect((await staying).cache).toBe('coalesced')
    expect(gated.runs).toBe(1)
    expect(await svc.stats()).toMatchObject({ currentItems: 1, loads: 1, cancelled: 0 })
  })

  it('lets a picture that waits for a busy generator wait on disk, and makes its model from it', async () => {
    const gated = new GatedGenerator()
    const svc = await service([gated])
    // As a transport calls: bytes made for this call alone, which the service may take over.
    const fromTransport = (input: Record<string, unknown>) =>
      dispatch(
        whenReady(Promise.resolve(svc)) as unknown as Pick<OperationHandlers, 'generate'>,
        'generate',
        input,
        {},
        true,
      )
    const parkedFiles = () =>
      existsSync(SCRATCH)
        ? readdirSync(SCRATCH).filter((f) => f.startsWith(`${process.pid}-`) && f.endsWith('.picture'))
        : []
    gated.hold()
    const first = fromTransport(request({ seed: 1, image: fixture('triposr-chair') }))
    await gated.jobsStarted(1)
    const robot = fixture('triposr-robot')
    const robotBytes = Buffer.from(robot)
    const second = fromTransport(request({ seed: 2, image: robot }))
    // The same request again joins the waiting one; its own copy of the picture waits on disk too.
    const again = fromTransport(request({ seed: 2, image: fixture('triposr-robot') }))
    await until(() => robot.byteLength === 0, 'the waiting picture left memory')
    await until(() => parkedFiles().length === 2, 'both waiting pictures are on disk')
    // A caller's own bytes (not made for the call) are never taken over.
    const own = fixture('trellis-lantern')
    const third = call(svc, 'generate', request({ seed: 3, image: own }))
    gated.release()
    const [, made, joined, ,] = await Promise.all([first, second, again, third])
    expect(joined.key).toBe(made.key)
    expect(own.byteLength).toBeGreaterThan(0)
    // The generator got the picture back from disk, byte for byte, and its thumbnail was made.
    expect(gated.runs).toBe(3)
    expect(Buffer.from(gated.pictures[1] as Uint8Array).equals(robotBytes)).toBe(true)
    expect(await svc.thumbnail(made.key)).toBeDefined()
    await until(() => parkedFiles().length === 0, 'no waiting picture is left on disk')
  })

  it('stops the generation once every waiting request has cancelled', async () => {
    const gated = new GatedGenerator()
    const svc = await service([gated])
    gated.hold()
    const a = codeOf(call(svc, 'generate', request({ requestId: 'a' })))
    const b = codeOf(call(svc, 'generate', request({ requestId: 'b' })))
    await gated.jobsStarted(1)
    await call(svc, 'cancel', { requestId: 'a' })
    await call(svc, 'cancel', { requestId: 'b' })
    expect([await a, await b]).toEqual(['CANCELLED', 'CANCELLED'])
    await until(() => gated.running === 0, 'the job stopped')
    expect(await svc.stats()).toMatchObject({ currentItems: 0, inFlight: 0, cancelled: 1, loadFailures: 0 })
  })

  it('sends progress to every request waiting on a generation, including one that joins late', async () => {
    const gated = new GatedGenerator()
    const svc = await service([gated])
    const events: ProgressEvent[] = []
    svc.events.on('progress', (event) => events.push(event))
    gated.hold()
    const first = call(svc, 'generate', request({ requestId: 'first' }))
    await gated.jobsStarted(1)
    const second = call(svc, 'generate', request({ requestId: 'second' }))
    await until(() => events.some((e) => e.requestId === 'second'), 'progress reached the second request')
    // The latecomer sees where the job stands at once.
    expect(events.find((e) => e.requestId === 'second')).toMatchObject({ stage: 'generating', fraction: 0.5 })
    gated.release()
    await Promise.all([first, second])
    for (const id of ['first', 'second']) expect(events.filter((e) => e.requestId === id).at(-1)?.stage).toBe('done')
  })

  it('turns every change of one synchronous job into one event', async () => {
    const svc = await service([new GatedGenerator()])
    const changes: CacheChangedEvent[] = []
    svc.events.on('cacheChanged', (event) => changes.push(event))
    const keys: string[] = []
    for (const seed of [1, 2, 3]) keys.push((await call(svc, 'generate', request({ seed }))).key)
    await Promise.resolve()
    await call(svc, 'deleteEntry', { key: keys[0] })
    await Promise.resolve()
    await call(svc, 'clear', { scope: 'all' })
    await Promise.resolve()
    expect(changes.map((c) => c.reason)).toEqual(['stored', 'stored', 'stored', 'deleted', 'cleared'])
  })

  it('answers a model no tier can keep, keeps it downloadable for a while, and says it was not kept', async () => {
    const gated = new GatedGenerator()
    gated.padding = 2 * 1024 * 1024
    const svc = await service([gated], { maxBytes: 1024 * 1024 })
    const result = await call(svc, 'generate', request())
    expect(result).toMatchObject({ cache: 'miss', stored: false })
    expect((await svc.model(result.key))?.byteLength).toBe(result.bytes)
    expect(await svc.stats()).toMatchObject({ currentItems: 0, rejected: 1 })
    // Honest: nothing kept it, so a repeat generates again.
    expect((await call(svc, 'generate', request())).cache).toBe('miss')
  })

  it.each([
    ['no image', { ...request(), image: undefined }],
    ['an image that is not base64', request({ image: 'not base64!' })],
    ['an unknown quality', request({ quality: 'ultra' })],
    ['a negative seed', request({ seed: -1 })],
    ['a fractional seed', request({ seed: 1.5 })],
    ['a huge seed', request({ seed: 2 ** 31 })],
    ['a long prompt', request({ prompt: 'x'.repeat(1001) })],
    ['an extra field', request({ extra: true })],
    ['a bad request id', request({ requestId: '../../etc' })],
    ['an unknown reuse mode', request({ reuse: 'nearby' })],
    ['not an object', 'generate please'],
  ])('refuses a request with %s and changes nothing', async (_name, payload) => {
    const svc = await service([new GatedGenerator()])
    expect(await codeOf(call(svc, 'generate', payload))).toBe('INVALID_REQUEST')
    expect(await svc.stats()).toMatchObject({ misses: 0, currentItems: 0, inFlight: 0 })
  })

  it('refuses a bad picture with its own error, and a warm batch with one bad picture as a whole', async () => {
    const gated = new GatedGenerator()
    const svc = await service([gated])
    expect(await codeOf(call(svc, 'generate', request({ image: new Uint8Array([1, 2, 3]) })))).toBe(
      'UNSUPPORTED_FORMAT',
    )
    expect(await codeOf(call(svc, 'generate', request({ image: new Uint8Array(0) })))).toBe('EMPTY_FILE')
    const batch = { requests: [request(), request({ image: new Uint8Array([9]) })] }
    expect(await codeOf(call(svc, 'warm', batch))).toBe('UNSUPPORTED_FORMAT')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(gated.runs).toBe(0)
    expect(await svc.stats()).toMatchObject({ misses: 0, inFlight: 0 })
  })

  it('refuses bad management payloads and changes nothing', async () => {
    const svc = await service([new GatedGenerator()])
    const before = await svc.getConfig()
    for (const patch of [
      { maxItems: 0 },
      { maxBytes: 'big' },
      {},
      { maxItems: 1.5 },
      { other: 1 },
      null,
      { policy: 'fifo' },
    ]) {
      expect(await codeOf(call(svc, 'setConfig', patch))).toBe('INVALID_REQUEST')
    }
    expect(await svc.getConfig()).toEqual(before)
    expect(await codeOf(call(svc, 'setConfig', { diskMaxBytes: 64 * 1024 * 1024 }))).toBe('INVALID_REQUEST')
    expect(await codeOf(call(svc, 'entries', { limit: 10_000 }))).toBe('INVALID_REQUEST')
    expect(await codeOf(call(svc, 'cancel', { requestId: '' }))).toBe('INVALID_REQUEST')
    expect(await codeOf(call(svc, 'deleteEntry', { key: '0'.repeat(64), scope: 'team' }))).toBe('INVALID_REQUEST')
  })

  it('reports what each eviction policy would have saved on its own recent requests', async () => {
    const svc = await service([new GatedGenerator()])
    for (const seed of [1, 2, 1, 1, 3]) await call(svc, 'generate', request({ seed }))
    const report = await call(svc, 'policyReport')
    expect(report.requests).toBe(5)
    expect(report.current).toBe('lru')
    expect(report.results.map((r) => r.policy)).toEqual(['lru', 'gdsf'])
    // With room for everything, both policies hit the two repeats.
    for (const result of report.results) expect(result.hitRate).toBeCloseTo(2 / 5)
  })
})
