import { afterEach, describe, expect, it } from 'vitest'
import { BuiltinGenerator } from '../src/main/generation/builtin/builtin-generator'
import { HunyuanGenerator } from '../src/main/generation/hunyuan/hunyuan-generator'
import { ModelService } from '../src/main/service'
import type { CacheChangedEvent, ProgressEvent } from '../src/shared/contract'
import { AppError } from '../src/shared/errors'
import { type FakeHunyuan, startFakeHunyuan } from './support/fake-hunyuan'
import { BUILTIN_WORKER, fixture } from './support/fixtures'

const builtin = (): BuiltinGenerator => new BuiltinGenerator({ workerPath: BUILTIN_WORKER })
const modelUrl = (key: string): string => `/models/${key}.glb`

function service(extra: Partial<ConstructorParameters<typeof ModelService>[0]> = {}): ModelService {
  return new ModelService({ generators: [builtin()], modelUrl, ...extra })
}

const chair = fixture('triposr-chair')
const request = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  image: chair,
  prompt: 'a chair',
  quality: 'draft',
  seed: 7,
  ...overrides,
})

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function errorCode(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
    return 'ok'
  } catch (error) {
    return error instanceof AppError ? error.code : `not an AppError: ${String(error)}`
  }
}

describe('ModelService', () => {
  let fake: FakeHunyuan | undefined
  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })

  it('serves a repeated request from the cache with identical bytes', async () => {
    const svc = service()
    const first = await svc.generate(request())
    expect(first).toMatchObject({ cache: 'miss', backend: 'builtin', modelUrl: `/models/${first.key}.glb` })
    expect(first.key).toMatch(/^[0-9a-f]{64}$/)
    const bytes = await svc.model(first.key)
    expect(bytes?.byteLength).toBe(first.bytes)
    const second = await svc.generate(request({ prompt: '  a   chair ' }))
    expect(second).toMatchObject({ cache: 'hit', key: first.key, bytes: first.bytes, generationMs: first.generationMs })
    expect(await svc.model(second.key)).toBe(bytes)
    expect(svc.stats()).toMatchObject({ hits: 1, misses: 1, loads: 1, currentItems: 1 })
    expect(svc.stats().savedMs).toBeGreaterThan(0)
  })

  it('runs one generation for N concurrent identical requests', async () => {
    const svc = service()
    const results = await Promise.all(Array.from({ length: 5 }, () => svc.generate(request({ seed: 8 }))))
    expect(new Set(results.map((r) => r.key)).size).toBe(1)
    expect(results.filter((r) => r.cache === 'miss')).toHaveLength(1)
    expect(results.filter((r) => r.cache === 'coalesced')).toHaveLength(4)
    expect(svc.stats()).toMatchObject({ loads: 1, misses: 1, coalesced: 4 })
  })

  it('caches nothing when a generation fails, and every caller sees the error', async () => {
    fake = await startFakeHunyuan('error')
    const svc = service({ generators: [new HunyuanGenerator({ url: fake.url }), builtin()] })
    const calls = Array.from({ length: 3 }, () => svc.generate(request({ backend: 'hunyuan3d-2' })))
    for (const call of calls) {
      await expect(call).rejects.toMatchObject({ code: 'BACKEND_FAILED', message: /CUDA out of memory/ })
    }
    expect(fake.received).toHaveLength(1)
    expect(svc.stats()).toMatchObject({ currentItems: 0, loadFailures: 1, loads: 0 })
  })

  it('prefers a reachable Hunyuan3D server and falls back to the builtin generator', async () => {
    fake = await startFakeHunyuan('ok')
    const up = service({ generators: [new HunyuanGenerator({ url: fake.url }), builtin()] })
    expect((await up.backends()).map((b) => [b.id, b.available, b.isDefault])).toEqual([
      ['hunyuan3d-2', true, true],
      ['builtin', true, false],
    ])
    expect((await up.generate(request())).backend).toBe('hunyuan3d-2')

    const down = service({ generators: [new HunyuanGenerator({ url: 'http://127.0.0.1:9' }), builtin()] })
    expect((await down.generate(request())).backend).toBe('builtin')
    expect(await errorCode(down.generate(request({ backend: 'hunyuan3d-2' })))).toBe('BACKEND_UNAVAILABLE')
    expect(await errorCode(down.generate(request({ backend: 'nope' })))).toBe('INVALID_REQUEST')
  })

  it('cancels a request, stops its generation and caches nothing', async () => {
    fake = await startFakeHunyuan('ok')
    fake.delayMs = 3_000
    const svc = service({ generators: [new HunyuanGenerator({ url: fake.url })] })
    const running = svc.generate(request({ requestId: 'job-1' }))
    await until(() => fake?.received.length === 1)
    expect(svc.cancel('job-1')).toBe(true)
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(svc.cancel('job-1')).toBe(false)
    // The abandoned flight settles once the backend has stopped.
    await until(() => svc.stats().cancelled === 1)
    expect(svc.stats()).toMatchObject({ currentItems: 0, inFlight: 0, loadFailures: 0 })
  })

  it('keeps a generation going while another request still waits for it', async () => {
    fake = await startFakeHunyuan('ok')
    fake.delayMs = 300
    const svc = service({ generators: [new HunyuanGenerator({ url: fake.url })] })
    const leaving = svc.generate(request({ requestId: 'a' }))
    const staying = svc.generate(request({ requestId: 'b' }))
    // Both wait on the one generation once one of them has joined the other's flight.
    await until(() => svc.stats().coalesced === 1)
    svc.cancel('a')
    await expect(leaving).rejects.toMatchObject({ code: 'CANCELLED' })
    // Which of the two started the generation depends on timing; either way it completes once.
    const result = await staying
    expect(['miss', 'coalesced']).toContain(result.cache)
    expect(fake.received).toHaveLength(1)
    expect(svc.stats()).toMatchObject({ currentItems: 1, loads: 1, cancelled: 0 })
  })

  it('sends progress to every request waiting on a generation', async () => {
    const svc = service()
    const events: ProgressEvent[] = []
    svc.events.on('progress', (event) => events.push(event))
    await Promise.all([
      svc.generate(request({ seed: 9, requestId: 'first' })),
      svc.generate(request({ seed: 9, requestId: 'second' })),
    ])
    for (const id of ['first', 'second']) {
      const mine = events.filter((e) => e.requestId === id)
      expect(mine.length).toBeGreaterThan(0)
      expect(mine.at(-1)?.stage).toBe('done')
    }
  })

  it('lists, sorts, pages and deletes entries, and clears', async () => {
    const svc = service()
    const changes: CacheChangedEvent[] = []
    svc.events.on('cache-changed', (event) => changes.push(event))
    const keys: string[] = []
    for (const seed of [1, 2, 3]) keys.push((await svc.generate(request({ seed, prompt: `p${seed}` }))).key)
    const page = svc.entries({ sort: 'prompt', order: 'asc', limit: 2 })
    expect(page.total).toBe(3)
    expect(page.items.map((e) => e.meta.prompt)).toEqual(['p1', 'p2'])
    expect(page.items[0]?.meta).toMatchObject({ quality: 'draft', seed: 1, backend: 'builtin' })
    expect(String(page.items[0]?.meta.thumbnail)).toMatch(/^data:image\/webp;base64,/)
    expect(svc.entries({ offset: 2, sort: 'prompt', order: 'asc' }).items.map((e) => e.meta.prompt)).toEqual(['p3'])
    expect(svc.entries().items[0]?.key).toBe(keys[2]) // most recent first by default

    expect(svc.deleteEntry(keys[0])).toBe(true)
    expect(svc.deleteEntry(keys[0])).toBe(false)
    expect(svc.stats().currentItems).toBe(2)
    await Promise.resolve()
    expect(svc.clear()).toEqual({ removed: 2, removedFromDisk: 0 })
    expect(svc.stats()).toMatchObject({ currentItems: 0, currentBytes: 0 })
    await Promise.resolve()
    // Changes within one synchronous job arrive as one event.
    expect(changes.map((c) => c.reason)).toEqual(['stored', 'stored', 'stored', 'deleted', 'cleared'])
  })

  it('changes limits: lowering evicts at once', async () => {
    const svc = service()
    for (const seed of [1, 2, 3]) await svc.generate(request({ seed }))
    expect(svc.setConfig({ maxItems: 1 })).toMatchObject({ maxItems: 1 })
    expect(svc.stats()).toMatchObject({ currentItems: 1, evictions: 2 })
    expect(svc.getConfig().maxItems).toBe(1)
  })

  it('warms a list of requests in the background', async () => {
    const svc = service()
    const { keys } = await svc.warm([request({ seed: 11 }), request({ seed: 12, image: fixture('triposr-robot') })])
    expect(keys).toHaveLength(2)
    await until(() => svc.stats().currentItems === 2)
    const again = await svc.generate(request({ seed: 11 }))
    expect(again.cache).toBe('hit')
    expect(keys).toContain(again.key)
  })

  it.each([
    ['no image', { ...request(), image: undefined }],
    ['an image that is text', { ...request(), image: 'aGVsbG8=' }],
    ['an unknown quality', request({ quality: 'ultra' })],
    ['a negative seed', request({ seed: -1 })],
    ['a fractional seed', request({ seed: 1.5 })],
    ['a huge seed', request({ seed: 2 ** 31 })],
    ['a long prompt', request({ prompt: 'x'.repeat(1001) })],
    ['an extra field', request({ extra: true })],
    ['a bad request id', request({ requestId: '../../etc' })],
    ['not an object', 'generate please'],
  ])('refuses a request with %s and changes nothing', async (_name, payload) => {
    const svc = service()
    expect(await errorCode(svc.generate(payload))).toBe('INVALID_REQUEST')
    expect(svc.stats()).toMatchObject({ misses: 0, currentItems: 0, inFlight: 0 })
  })

  it('refuses a bad image with its own error and changes nothing', async () => {
    const svc = service()
    expect(await errorCode(svc.generate(request({ image: new Uint8Array([1, 2, 3]) })))).toBe('UNSUPPORTED_FORMAT')
    expect(await errorCode(svc.generate(request({ image: new Uint8Array(0) })))).toBe('EMPTY_FILE')
    expect(svc.stats()).toMatchObject({ misses: 0, currentItems: 0 })
  })

  it('refuses bad management payloads and changes nothing', async () => {
    const svc = service()
    const before = svc.getConfig()
    for (const patch of [{ maxItems: 0 }, { maxBytes: 'big' }, {}, { maxItems: 1.5 }, { other: 1 }, null]) {
      expect(await errorCode(() => svc.setConfig(patch))).toBe('INVALID_REQUEST')
    }
    expect(svc.getConfig()).toEqual(before)
    expect(await errorCode(() => svc.deleteEntry('../../secret'))).toBe('INVALID_REQUEST')
    expect(await errorCode(svc.model('ABC'))).toBe('INVALID_REQUEST')
    expect(await svc.model('0'.repeat(64))).toBeUndefined()
    expect(await errorCode(() => svc.entries({ limit: 10_000 }))).toBe('INVALID_REQUEST')
    expect(await errorCode(() => svc.cancel(''))).toBe('INVALID_REQUEST')
    expect(await errorCode(svc.warm([]))).toBe('INVALID_REQUEST')
    expect(await errorCode(svc.warm([request(), request({ image: new Uint8Array([9]) })]))).toBe('UNSUPPORTED_FORMAT')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(svc.stats()).toMatchObject({ misses: 0, inFlight: 0 })
  })
})
