import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { HUNYUAN_PARAMS, HunyuanGenerator } from '../../../src/core/generation/hunyuan/hunyuan-generator'
import { type FakeHunyuan, startFakeHunyuan } from '../../support/fake-hunyuan'
import { fixture } from '../../support/fixtures'

const input = { image: fixture('triposr-chair'), prompt: 'a wooden chair', quality: 'draft' as const, seed: 42 }
const signal = (): AbortSignal => new AbortController().signal

async function closedPort(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

describe('Hunyuan3D-2 backend against a fake api_server', () => {
  let fake: FakeHunyuan | undefined
  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })

  it.each(['generate', 'send'] as const)('gets a GLB through /%s with the resolved parameters', async (mode) => {
    fake = await startFakeHunyuan('ok')
    fake.pollsUntilDone = 2
    const generator = new HunyuanGenerator({ url: `${fake.url}/`, mode, pollMs: 5 })
    const stages: string[] = []
    const model = await generator.generate(input, { signal: signal(), onProgress: (p) => stages.push(p.stage) })
    expect(Buffer.from(model.glb.subarray(0, 4)).toString('latin1')).toBe('glTF')
    const sent = fake.received[0] as Record<string, unknown>
    expect(sent).toMatchObject({
      ...HUNYUAN_PARAMS.draft,
      seed: 42,
      text: 'a wooden chair',
      texture: false,
      type: 'glb',
    })
    expect(Buffer.from(sent.image as string, 'base64').equals(Buffer.from(input.image))).toBe(true)
    expect(stages[0]).toBe('uploading')
    expect(stages.at(-1)).toBe('done')
  })

  it('turns the server error JSON into a clear message', async () => {
    fake = await startFakeHunyuan('error')
    const generator = new HunyuanGenerator({ url: fake.url })
    await expect(generator.generate(input, { signal: signal() })).rejects.toMatchObject({
      code: 'BACKEND_FAILED',
      message: 'The Hunyuan3D-2 server failed: CUDA out of memory',
    })
  })

  it('gives up at the deadline on a /send job that never completes', async () => {
    fake = await startFakeHunyuan('never')
    const generator = new HunyuanGenerator({ url: fake.url, mode: 'send', pollMs: 5, deadlineMs: 150 })
    await expect(generator.generate(input, { signal: signal() })).rejects.toMatchObject({ code: 'TIMEOUT' })
  })

  it('gives up at the deadline on a /generate request that hangs', async () => {
    fake = await startFakeHunyuan('never')
    const generator = new HunyuanGenerator({ url: fake.url, deadlineMs: 150 })
    await expect(generator.generate(input, { signal: signal() })).rejects.toMatchObject({ code: 'TIMEOUT' })
  })

  it.each(['generate', 'send'] as const)('refuses garbage bytes from /%s', async (mode) => {
    fake = await startFakeHunyuan('garbage')
    const generator = new HunyuanGenerator({ url: fake.url, mode, pollMs: 5 })
    await expect(generator.generate(input, { signal: signal() })).rejects.toThrow(/not a valid GLB/)
  })

  it('says the server is unreachable when it is down', async () => {
    const url = await closedPort()
    const generator = new HunyuanGenerator({ url })
    await expect(generator.generate(input, { signal: signal() })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    })
    expect(await generator.describe()).toMatchObject({ available: false, gpu: true })
  })

  it('reports availability from a live server', async () => {
    fake = await startFakeHunyuan('ok')
    expect(await new HunyuanGenerator({ url: fake.url }).describe()).toMatchObject({ available: true })
  })

  it('cancels a running request', async () => {
    fake = await startFakeHunyuan('ok')
    fake.hold()
    const controller = new AbortController()
    const generator = new HunyuanGenerator({ url: fake.url })
    const run = generator.generate(input, { signal: controller.signal })
    while (fake.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
    // The server sees its client go: the job's answer is never sent.
    while (fake.abandoned === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    fake.release()
    expect(fake.completed).toBe(0)
  })

  it('cancels while polling', async () => {
    fake = await startFakeHunyuan('never')
    const controller = new AbortController()
    const generator = new HunyuanGenerator({ url: fake.url, mode: 'send', pollMs: 20 })
    const run = generator.generate(input, { signal: controller.signal })
    while (fake.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
  })

  it('names the resolved parameters as its identity', () => {
    const generator = new HunyuanGenerator({ url: 'http://127.0.0.1:1' })
    expect(generator.identity('high')).toEqual({ ...HUNYUAN_PARAMS.high, texture: false, type: 'glb' })
  })
})
