import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import type { CacheChangedEvent, GenerateResult, ProgressEvent } from '../../src/shared/contract'
import type { Api } from '../../src/shared/operations'
import { closedPort } from '../support/closed-port'
import { codeOf } from '../support/code-of'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { STACKS, type Stack } from '../support/stacks'
import { until } from '../support/until'

/**
 * One suite of Api behaviour, run over both transports: the browser's HTTP adapter against
 * the Fastify host, and the built preload against the IPC registration. The two can never
 * disagree on an operation, an argument form, a refusal or an error code.
 */

const robot = fixture('triposr-robot')
const request = (overrides: Record<string, unknown> = {}) => ({
  image: robot,
  prompt: 'a robot',
  quality: 'draft' as const,
  seed: 7,
  ...overrides,
})

describe.each(STACKS)('Api over $name', (kind) => {
  let stack: Stack
  let generator: GatedGenerator
  let api: Api
  afterEach(async () => {
    generator?.release()
    await stack?.close()
  })

  async function start(setup: { limits?: { maxItems?: number; maxBytes?: number } } = {}): Promise<void> {
    generator = new GatedGenerator()
    stack = await kind.start({ generators: [generator], ...setup })
    api = stack.api
  }

  it('generates once, then serves the same request from the cache; the model is fetchable', async () => {
    await start()
    const first = await api.generate(request())
    expect(first).toMatchObject({ cache: 'miss', tier: 'generator', backend: 'gated', stored: true })
    const second = await api.generate(request({ prompt: '  a   robot ' }))
    expect(second).toMatchObject({ cache: 'hit', tier: 'memory', key: first.key, bytes: first.bytes })
    expect(generator.runs).toBe(1)
    const model = await stack.fetchModel(first.modelUrl)
    expect(model.status).toBe(200)
    expect(model.bytes.byteLength).toBe(first.bytes)
    // The browser's adapter answers page-relative addresses under its base.
    expect(api.modelUrl(first.key).endsWith(first.modelUrl)).toBe(true)
  })

  it('joins concurrent identical requests into one generation', async () => {
    await start()
    generator.hold()
    const results = Promise.all([1, 2, 3].map(() => api.generate(request())))
    await generator.jobsStarted(1)
    generator.release()
    const outcomes = (await results).map((r) => r.cache).sort()
    expect(outcomes).toEqual(['coalesced', 'coalesced', 'miss'])
    expect(generator.runs).toBe(1)
  })

  it('cancels a running request by id: CANCELLED reaches the caller, nothing is cached', async () => {
    await start()
    generator.hold()
    const running = api.generate(request({ requestId: 'job-1' }))
    await generator.jobsStarted(1)
    // Its outcome is taken before the cancel, which may answer after the generation has failed.
    const runningCode = codeOf(running)
    expect(await api.cancel({ requestId: 'job-1' })).toEqual({ cancelled: true })
    expect(await runningCode).toBe('CANCELLED')
    expect(await api.cancel({ requestId: 'job-1' })).toEqual({ cancelled: false })
    expect(await api.stats()).toMatchObject({ currentItems: 0, inFlight: 0, cancelled: 1 })
  })

  it('lists entries with a query: sorted, ordered and paged', async () => {
    await start()
    for (const [prompt, seed] of [
      ['b', 1],
      ['a', 2],
      ['c', 3],
    ] as const)
      await api.generate(request({ prompt, seed }))
    const byPrompt = await api.entries({ sort: 'prompt', order: 'asc', limit: 2, offset: 1 })
    expect(byPrompt.total).toBe(3)
    expect(byPrompt.offset).toBe(1)
    expect(byPrompt.items.map((e) => e.meta.prompt)).toEqual(['b', 'c'])
    expect(byPrompt.items[0]).toMatchObject({ tier: 'memory', thumbnailUrl: expect.stringContaining('/thumbnails/') })
    const all = await api.entries()
    expect(all.items).toHaveLength(3)
  })

  it('finds models by picture name and by prompt, and by nothing else; filters by quality, texture, model and kept', async () => {
    await start()
    const chair = await api.generate(request({ prompt: '', pictureName: 'Red-Chair.png', seed: 1 }))
    const lamp = await api.generate(request({ prompt: 'a blue lamp', seed: 2, quality: 'standard' }))
    const both = await api.generate(request({ prompt: 'brass café', pictureName: 'lamp photo.jpg', seed: 3 }))
    const found = async (query: Parameters<Api['entries']>[0]) =>
      (await api.entries(query)).items.map((e) => e.key).sort()
    expect(await found({ q: 'chair' })).toEqual([chair.key])
    expect(await found({ q: 'LAMP' })).toEqual([lamp.key, both.key].sort())
    expect(await found({ q: 'lamp cafe' })).toEqual([both.key])
    // Keys, qualities, models and seeds are not searched.
    for (const q of [chair.key.slice(0, 12), 'draft', 'gated', '7']) expect(await found({ q })).toEqual([])
    expect(await found({ quality: 'standard' })).toEqual([lamp.key])
    expect(await found({ textured: true })).toEqual([])
    await api.keepEntry({ key: chair.key, keep: true })
    expect(await found({ kept: true })).toEqual([chair.key])
    const page = await api.entries({ model: 'gated 1', sort: 'prompt', order: 'asc' })
    expect(page.models).toEqual(['gated 1'])
    // Titled by the prompt, else the picture's name: a blue lamp, brass café, Red-Chair.png.
    expect(page.items.map((e) => e.key)).toEqual([lamp.key, both.key, chair.key])
    expect(await found({ model: 'other weights' })).toEqual([])
  })

  it('deletes one entry from every tier; a second delete is NOT_FOUND', async () => {
    await start()
    const { key } = await api.generate(request())
    expect(await api.deleteEntry({ key })).toEqual({ deleted: true })
    expect(await codeOf(api.deleteEntry({ key }))).toBe('NOT_FOUND')
    expect((await api.entries()).total).toBe(0)
    expect((await stack.fetchModel(api.modelUrl(key).replace(/^http:\/\/[^/]+/, ''))).status).toBe(404)
  })

  it('clears memory only (disk copies stay and serve the next request), then everything', async () => {
    await start()
    const { key } = await api.generate(request())
    await stack.service.flush()
    expect(await api.clear({ scope: 'memory' })).toEqual({
      removed: 1,
      removedFromDisk: 0,
      removedFromShared: 0,
      keptLeft: 0,
    })
    const stats = await api.stats()
    expect(stats.currentItems).toBe(0)
    expect(stats.disk?.currentItems).toBe(1)
    expect(await api.generate(request())).toMatchObject({ key, cache: 'hit', tier: 'disk' })
    expect(generator.runs).toBe(1)
    expect(await api.clear({ scope: 'all' })).toEqual({
      removed: 1,
      removedFromDisk: 1,
      removedFromShared: 0,
      keptLeft: 0,
    })
    expect((await api.stats()).disk?.currentItems).toBe(0)
  })

  it('keeps a model through a clear of everything, lists it kept, and lets it go; refuses a keep that is not true or false', async () => {
    await start()
    const { key } = await api.generate(request())
    await api.generate(request({ seed: 8 }))
    expect(await api.keepEntry({ key, keep: true })).toEqual({ key, kept: true })
    expect(await codeOf((api.keepEntry as (input: unknown) => Promise<unknown>)({ key, keep: 'yes' }))).toBe(
      'INVALID_REQUEST',
    )
    expect(await codeOf(api.keepEntry({ key: 'f'.repeat(64), keep: true }))).toBe('NOT_FOUND')
    expect(await api.clear({ scope: 'all' })).toMatchObject({ keptLeft: 1 })
    expect((await api.entries()).items).toEqual([expect.objectContaining({ key, kept: true })])
    expect(await api.keepEntry({ key, keep: false })).toEqual({ key, kept: false })
    expect((await api.entries()).items[0]?.kept).toBe(false)
    expect(await api.clear({ scope: 'all' })).toMatchObject({ keptLeft: 0 })
    expect((await api.entries()).total).toBe(0)
  })

  it('refuses a clear without an explicit scope, and a team clear without a team tier', async () => {
    await start()
    await api.generate(request())
    expect(await codeOf((api.clear as (input?: unknown) => Promise<unknown>)())).toBe('INVALID_REQUEST')
    expect(await codeOf((api.clear as (input: unknown) => Promise<unknown>)({ scpoe: 'memory' }))).toBe(
      'INVALID_REQUEST',
    )
    expect(await codeOf(api.clear({ scope: 'team' }))).toBe('INVALID_REQUEST')
    expect((await api.stats()).currentItems).toBe(1)
  })

  it('reads and patches the configuration; lowering a limit evicts at once', async () => {
    await start()
    await api.generate(request({ seed: 1 }))
    await api.generate(request({ seed: 2 }))
    const config = await api.getConfig()
    expect(config).toMatchObject({ maxItems: 1000, policy: 'lru', similarityThreshold: 5 })
    expect(config.diskMaxBytes).toBeGreaterThan(0)
    const patched = await api.setConfig({ maxItems: 1, policy: 'gdsf', similarityThreshold: 3 })
    expect(patched).toMatchObject({ maxItems: 1, policy: 'gdsf', similarityThreshold: 3 })
    expect(await api.stats()).toMatchObject({ currentItems: 1, evictions: 1, policy: 'gdsf' })
    expect(await codeOf(api.setConfig({ maxItems: -5 }))).toBe('INVALID_REQUEST')
    expect(await codeOf(api.setConfig({}))).toBe('INVALID_REQUEST')
    expect((await api.getConfig()).maxItems).toBe(1)
  })

  it('warms a batch in the background and answers its keys at once', async () => {
    await start()
    generator.hold()
    const { keys } = await api.warm({ requests: [request({ seed: 1 }), request({ seed: 2 })] })
    expect(keys).toHaveLength(2)
    expect(new Set(keys).size).toBe(2)
    generator.release()
    await until(async () => (await api.stats()).currentItems === 2, 'both warmed models are stored')
    expect(await api.generate(request({ seed: 2 }))).toMatchObject({ cache: 'hit', key: keys[1] })
  })

  it('sets up GPU servers: tests a URL, refuses a bad one and an unknown id', async () => {
    await start()
    const closed = await closedPort()
    expect(await api.testBackend({ url: closed })).toMatchObject({ url: closed, ok: false, state: 'unreachable' })
    expect(await codeOf(api.addBackend({ url: 'ftp://gpu1:8080' }))).toBe('INVALID_REQUEST')
    expect(await codeOf(api.addBackend({ url: closed }))).toBe('BACKEND_UNAVAILABLE')
    expect(await codeOf(api.removeBackend({ id: 'gpu-000000000000' }))).toBe('NOT_FOUND')
    expect(await codeOf(api.removeBackend({ id: '../etc' }))).toBe('INVALID_REQUEST')
  })

  it('describes the backends', async () => {
    await start()
    expect(await api.backends()).toEqual([
      {
        id: 'gated',
        name: 'Gated test generator gated',
        version: '1',
        gpu: false,
        available: true,
        state: 'ready',
        isDefault: true,
      },
    ])
  })

  it('saves a model: the bytes go where the user chose', async () => {
    await start()
    const result = await api.generate(request())
    expect(await api.saveModel({ key: result.key, name: 'my robot' })).toEqual({ saved: true })
    expect(stack.saves).toHaveLength(1)
    const saved = await stack.saves[0]?.read()
    expect(saved?.byteLength).toBe(result.bytes)
    expect(
      Buffer.from(saved ?? [])
        .subarray(0, 4)
        .toString('latin1'),
    ).toBe('glTF')
  })

  it('streams progress to the request that asked, and cache changes; unsubscribing stops both', async () => {
    await start()
    const progress: ProgressEvent[] = []
    const changes: CacheChangedEvent[] = []
    const offProgress = api.subscribe('progress', (event) => progress.push(event))
    const offChanges = api.subscribe('cacheChanged', (event) => changes.push(event))
    await stack.eventsConnected()
    generator.hold()
    const running = api.generate(request({ requestId: 'watched' }))
    await until(
      () => progress.some((e) => e.requestId === 'watched' && e.stage === 'generating'),
      'progress of the watched request',
    )
    generator.release()
    await running
    await until(() => changes.some((e) => e.reason === 'stored'), 'a stored change')
    offProgress()
    offChanges()
    const seen = progress.length + changes.length
    await api.generate(request({ seed: 99 }))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(progress.length + changes.length).toBe(seen)
  })

  it('finds the model of a near-identical picture, and reuses it only when asked', async () => {
    await start()
    const original = await api.generate(request())
    // Re-saved as a smaller JPEG, as an editor does: on white.
    const resized = new Uint8Array(
      await sharp(robot).flatten({ background: '#ffffff' }).resize(400).jpeg({ quality: 85 }).toBuffer(),
    )
    const { matches } = await api.similar(request({ image: resized }))
    expect(matches).toHaveLength(1)
    expect(matches[0]).toMatchObject({ key: original.key, prompt: 'a robot' })
    expect(matches[0]?.distance).toBeLessThanOrEqual(5)
    // Another seed is another model: no match.
    expect((await api.similar(request({ image: resized, seed: 8 }))).matches).toEqual([])
    const reused: GenerateResult = await api.generate(request({ image: resized, reuse: 'similar' }))
    expect(reused).toMatchObject({ cache: 'similar', key: original.key, distance: matches[0]?.distance })
    expect(generator.runs).toBe(1)
    expect(await api.stats()).toMatchObject({ similarOffers: 1, similarReuses: 1 })
    const exact = await api.generate(request({ image: resized }))
    expect(exact.cache).toBe('miss')
    expect(generator.runs).toBe(2)
  })

  it('refuses malformed arguments with INVALID_REQUEST and changes nothing', async () => {
    await start()
    const loose = api as unknown as Record<string, (input?: unknown) => Promise<unknown>>
    const cases: [string, unknown][] = [
      ['generate', { image: 'not base64 at all!' }],
      ['generate', { ...request(), quality: 'ultra' }],
      ['generate', { ...request(), extra: 1 }],
      ['entries', { limit: 0 }],
      ['deleteEntry', { key: '../../etc/passwd' }],
      ['setConfig', { maxBytes: 5 }],
      ['warm', { requests: [] }],
      ['cancel', { requestId: 'has spaces' }],
      ['similar', { image: 'not base64 at all!' }],
      ['similar', { ...request(), seed: -1 }],
      ['setConfig', { similarityThreshold: 65 }],
    ]
    for (const [name, input] of cases)
      expect(await codeOf(loose[name]?.(input) as Promise<unknown>), name).toBe('INVALID_REQUEST')
    expect(await api.stats()).toMatchObject({ misses: 0, currentItems: 0, maxItems: 1000 })
  })

  it('refuses a state change from a page that is not the app with FORBIDDEN', async () => {
    await start()
    await api.generate(request())
    expect(await codeOf(stack.foreign.clear({ scope: 'all' }))).toBe('FORBIDDEN')
    expect(await codeOf(stack.foreign.generate(request({ seed: 3 })))).toBe('FORBIDDEN')
    expect((await api.stats()).currentItems).toBe(1)
  })

  it('passes a picture error code through unchanged', async () => {
    await start()
    const text = new TextEncoder().encode('hello, not a picture')
    expect(await codeOf(api.generate(request({ image: text })))).toBe('UNSUPPORTED_FORMAT')
    expect(await codeOf(api.similar(request({ image: text })))).toBe('UNSUPPORTED_FORMAT')
  })
})
