import { createServer as createHttpServer } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { GenerateProgress } from '../../../src/core/generation/generator'
import { HunyuanPool } from '../../../src/core/generation/hunyuan/hunyuan-pool'
import { HunyuanServer, serverReason } from '../../../src/core/generation/hunyuan/hunyuan-server'
import { QUALITIES } from '../../../src/shared/contract'
import { closedPort } from '../../support/closed-port'
import { type FakeHunyuan, type FakeOptions, startFakeHunyuan } from '../../support/fake-hunyuan'
import { fixture } from '../../support/fixtures'

const input = { image: fixture('triposr-chair'), prompt: 'a wooden chair', quality: 'draft' as const, seed: 42 }
const signal = (): AbortSignal => new AbortController().signal

const fakes: FakeHunyuan[] = []
async function fakeServer(options: FakeOptions = {}): Promise<FakeHunyuan> {
  const fake = await startFakeHunyuan(options)
  fakes.push(fake)
  return fake
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()))
})

const isGlb = (bytes: Uint8Array): boolean => Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'glTF'

describe('Hunyuan3D 2.0 against its fake', () => {
  it('sends each quality in 2.0 terms through /generate, and keys what 2.0 reads (not the prompt)', async () => {
    const fake = await fakeServer({ variant: '2.0' })
    const pool = new HunyuanPool([fake.url])
    const model = await pool.generate(input, { signal: signal() })
    expect(isGlb(model.glb)).toBe(true)
    const [sent] = (await fake.stats()).received
    expect(sent).toMatchObject({
      seed: 42,
      octree_resolution: 128,
      num_inference_steps: 5,
      texture: false,
      type: 'glb',
    })
    expect(sent).not.toHaveProperty('face_count') // read only with texture
    expect(sent).not.toHaveProperty('text') // ignored upstream when a picture is given
    expect(await pool.serverKind()).toMatchObject({
      variant: '2.0',
      identity: 'hunyuan3d-2',
      model: 'Hunyuan3D-2mini-Turbo',
    })
    const params = await pool.keyParams({ quality: 'high', seed: 1, texture: false })
    expect(params).toMatchObject({ variant: '2.0', num_inference_steps: 50, octree_resolution: 384, seed: 1 })
    expect(await pool.keyParams({ quality: 'high', seed: 2, texture: false })).not.toEqual(params)
    expect(await pool.keyParams({ quality: 'high', seed: 1, texture: true })).toMatchObject({ face_count: 100_000 })
  })

  it('textures a given mesh only: the shape is not made again', async () => {
    const fake = await fakeServer({ variant: '2.0' })
    const pool = new HunyuanPool([fake.url])
    const shape = (await pool.generate(input, { signal: signal() })).glb
    await pool.generate({ ...input, texture: true, mesh: shape }, { signal: signal() })
    const stats = await fake.stats()
    expect(stats).toMatchObject({ shape_jobs: 1, texture_jobs: 1 })
    expect(stats.received[1]).toMatchObject({
      texture: true,
      mesh: { length: Buffer.from(shape).toString('base64').length },
    })
  })

  it("shows the server's own failure text", async () => {
    const fake = await fakeServer({ behaviour: 'error' })
    await expect(new HunyuanPool([fake.url]).generate(input, { signal: signal() })).rejects.toMatchObject({
      code: 'BACKEND_FAILED',
      message: /The Hunyuan3D server failed: \*\*NETWORK ERROR DUE TO HIGH TRAFFIC/,
    })
  })

  it('refuses garbage bytes', async () => {
    const fake = await fakeServer({ behaviour: 'garbage' })
    await expect(new HunyuanPool([fake.url]).generate(input, { signal: signal() })).rejects.toThrow(/not a valid GLB/)
  })

  it('gives up at the deadline on a job that never finishes, and cancels a running one', async () => {
    const fake = await fakeServer({ held: true })
    const late = new HunyuanPool([fake.url], { deadlineMs: 200 })
    await expect(late.generate(input, { signal: signal() })).rejects.toMatchObject({ code: 'TIMEOUT' })
    const controller = new AbortController()
    const run = new HunyuanPool([fake.url]).generate(input, { signal: controller.signal })
    await fake.untilReceived(1)
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
  })
})

describe('a busy server is busy, not unreachable', () => {
  it('is not probed while our job runs there, and another client sees it busy rather than down', async () => {
    const fake = await fakeServer({ held: true })
    const ours = new HunyuanServer({ url: fake.url })
    expect(await ours.describe()).toMatchObject({ state: 'ready', variant: '2.0' })
    const job = ours.generate(input, { signal: signal() })
    await fake.untilReceived(1)
    // Upstream's /generate holds its one event loop: a probe now would wait for the whole job.
    expect(await ours.describe()).toMatchObject({ state: 'busy', variant: '2.0', running: 1 })
    const stranger = new HunyuanServer({ url: fake.url, probeTimeoutMs: 300 })
    expect(await stranger.describe()).toMatchObject({ state: 'busy' })
    await fake.release()
    expect(isGlb((await job).glb)).toBe(true)
    expect(await ours.describe()).toMatchObject({ state: 'ready' })
  })

  it('is unreachable when the connection is refused or the answer is not the protocol', async () => {
    expect(await new HunyuanServer({ url: await closedPort() }).describe()).toMatchObject({ state: 'unreachable' })
    const other = createHttpServer((_req, res) => res.end('<html>a router page</html>'))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = other.address() as { port: number }
      expect(await new HunyuanServer({ url: `http://127.0.0.1:${port}` }).describe()).toMatchObject({
        state: 'unreachable',
        detail: /not like a Hunyuan3D api_server/,
      })
    } finally {
      other.close()
    }
  })
})

describe('Hunyuan3D 2.1 against its fake', () => {
  it('is identified by /health and generates every quality within its limits through /send', async () => {
    const fake = await fakeServer({ variant: '2.1' })
    const pool = new HunyuanPool([fake.url], { pollMs: 5 })
    expect((await pool.describe()).servers?.[0]).toMatchObject({ state: 'ready', variant: '2.1' })
    for (const quality of QUALITIES) {
      const model = await pool.generate({ ...input, quality }, { signal: signal() })
      expect(isGlb(model.glb)).toBe(true)
    }
    const { received } = await fake.stats()
    expect(received).toHaveLength(3)
    for (const body of received) {
      expect(body.num_inference_steps as number).toBeLessThanOrEqual(20)
      expect(body.texture).toBe(true) // 2.1 textures every job whatever it is told
    }
  })

  it('keys the picture, the model and the seed as the sample number: 2.1 ignores every other field', async () => {
    const fake = await fakeServer({ variant: '2.1' })
    const pool = new HunyuanPool([fake.url])
    const a = await pool.keyParams({ quality: 'draft', seed: 1, texture: false })
    expect(await pool.keyParams({ quality: 'high', seed: 1, texture: true })).toEqual(a)
    expect(a).toMatchObject({ variant: '2.1', textured: true, model: 'Hunyuan3D-2.1', sample: 1 })
    expect(await pool.keyParams({ quality: 'draft', seed: 2, texture: false })).toMatchObject({ sample: 2 })
  })

  it('reports texturing as a stage of /send', async () => {
    const fake = await fakeServer({ variant: '2.1' })
    await fake.holdTexture()
    const stages: GenerateProgress['stage'][] = []
    let resolveTexturing: () => void = () => undefined
    const texturing = new Promise<void>((resolve) => {
      resolveTexturing = resolve
    })
    const run = new HunyuanPool([fake.url], { pollMs: 5 }).generate(input, {
      signal: signal(),
      onProgress: (p) => {
        stages.push(p.stage)
        if (p.stage === 'texturing') resolveTexturing()
      },
    })
    await texturing
    await fake.releaseTexture()
    await run
    expect(stages).toContain('texturing')
    expect(stages.at(-1)).toBe('done')
  })

  it("shows a validation error's reason", async () => {
    const fake = await fakeServer({ variant: '2.1' })
    const pool = new HunyuanPool([fake.url], { mode: 'generate' })
    // A client's own fields go as written (here without a picture, which 2.1 requires).
    await expect(
      pool.generate({ ...input, upstream: { text: 'a chair' } }, { signal: signal() }),
    ).rejects.toMatchObject({ code: 'BACKEND_FAILED', message: /refused the request: image: field required/ })
  })

  it('reads reasons in every shape the servers use', () => {
    expect(serverReason({ text: 'boom', error_code: 1 })).toBe('boom')
    expect(serverReason({ status: 'error', message: 'Failed to read generated file' })).toBe(
      'Failed to read generated file',
    )
    expect(
      serverReason({
        detail: [{ loc: ['body', 'num_inference_steps'], msg: 'ensure this value is less than or equal to 20' }],
      }),
    ).toBe('num_inference_steps: ensure this value is less than or equal to 20')
    expect(serverReason('nope')).toBeUndefined()
  })
})

describe('a server whose variant changes behind its URL', () => {
  it('is identified again before the next job: a 2.1 replaced by a 2.0 gets 2.0 terms at once', async () => {
    const first = await fakeServer({ variant: '2.1' })
    const port = Number(new URL(first.url).port)
    const server = new HunyuanServer({ url: first.url, pollMs: 20 })
    expect(isGlb((await server.generate(input, { signal: signal() })).glb)).toBe(true)
    expect(server.identity?.variant).toBe('2.1')
    await first.close()
    const replaced = await fakeServer({ variant: '2.0', port })
    expect(isGlb((await server.generate(input, { signal: signal() })).glb)).toBe(true)
    expect(server.identity?.variant).toBe('2.0')
    expect((await replaced.stats()).received).toHaveLength(1)
  })
})
