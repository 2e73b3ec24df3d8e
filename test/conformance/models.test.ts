import { afterEach, describe, expect, it } from 'vitest'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import type { Api } from '../../src/shared/operations'
import { codeOf } from '../support/code-of'
import { type FakeHunyuan, type FakeOptions, startFakeHunyuan } from '../support/fake-hunyuan'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { STACKS, type Stack } from '../support/stacks'

/**
 * Which weights made a model, over both transports, against the fake api_servers (each
 * model's bytes name the weights the fake loaded; 2.1's fake samples anew on every run).
 */

const lantern = fixture('trellis-lantern')
const request = (overrides: Record<string, unknown> = {}) => ({
  image: lantern,
  quality: 'draft' as const,
  seed: 1,
  ...overrides,
})

describe.each(STACKS)('models over $name', (kind) => {
  let stack: Stack
  let api: Api
  const fakes: FakeHunyuan[] = []
  afterEach(async () => {
    await stack?.close()
    await Promise.all(fakes.splice(0).map((f) => f.close()))
  })
  async function fake(options: FakeOptions): Promise<FakeHunyuan> {
    const started = await startFakeHunyuan(options)
    fakes.push(started)
    return started
  }
  async function start(): Promise<void> {
    stack = await kind.start({ generators: [new GatedGenerator()], pool: new HunyuanPool([]) })
    api = stack.api
  }
  const bytesOf = async (url: string): Promise<Uint8Array> => (await stack.fetchModel(url)).bytes

  it('keys a server restarted with other weights anew once its model is named: a miss, then a hit', async () => {
    const mini = await fake({ variant: '2.0' })
    const port = Number(new URL(mini.url).port)
    await start()
    const test = await api.testBackend({ url: mini.url })
    expect(test).toMatchObject({ ok: true, variant: '2.0', defaultModel: 'Hunyuan3D-2mini-Turbo' })
    const [pool] = await api.addBackend({ url: mini.url })
    const id = pool?.servers?.[0]?.id as string
    const first = await api.generate(request())
    expect(first).toMatchObject({ cache: 'miss', model: 'Hunyuan3D-2mini-Turbo' })

    await mini.close()
    const full = await fake({
      variant: '2.0',
      port,
      weights: { modelPath: 'tencent/Hunyuan3D-2', subfolder: 'hunyuan3d-dit-v2-0' },
    })
    // Typed in any case, kept in the published spelling.
    const [renamed] = await api.setBackendModel({ id, model: '  hunyuan3d-2 ' })
    expect(renamed?.servers?.[0]).toMatchObject({ model: 'Hunyuan3D-2', modelSource: 'named' })
    const second = await api.generate(request())
    expect(second).toMatchObject({ cache: 'miss', model: 'Hunyuan3D-2' })
    expect((await full.stats()).shape_jobs).toBe(1)
    expect(Buffer.compare(await bytesOf(second.modelUrl), await bytesOf(first.modelUrl))).not.toBe(0)
    const models = (await api.entries({ sort: 'createdAt', order: 'asc' })).items.map((entry) => entry.meta.model)
    expect(models).toEqual(['Hunyuan3D-2mini-Turbo', 'Hunyuan3D-2'])
    expect(await api.generate(request())).toMatchObject({ cache: 'hit', key: second.key })
    expect((await full.stats()).shape_jobs).toBe(1)
  })

  it('gives a 2.1 user another sample for another seed, and the kept one for the same seed', async () => {
    const server = await fake({ variant: '2.1' })
    await start()
    await api.addBackend({ url: server.url, model: 'Hunyuan3D-2.1' })
    const one = await api.generate(request({ seed: 1 }))
    const two = await api.generate(request({ seed: 2 }))
    expect([one.cache, two.cache]).toEqual(['miss', 'miss'])
    expect((await server.stats()).shape_jobs).toBe(2)
    const oneBytes = await bytesOf(one.modelUrl)
    expect(Buffer.compare(oneBytes, await bytesOf(two.modelUrl))).not.toBe(0)
    const again = await api.generate(request({ seed: 1 }))
    expect(again).toMatchObject({ cache: 'hit', key: one.key })
    expect(Buffer.compare(await bytesOf(again.modelUrl), oneBytes)).toBe(0)
    expect((await server.stats()).shape_jobs).toBe(2)
  })

  it('refuses a model no server runs, a blank model name, and naming the model of a server it does not manage', async () => {
    const server = await fake({ variant: '2.0' })
    await start()
    await api.addBackend({ url: server.url, model: 'Hunyuan3D-2mini' })
    expect(await codeOf(api.generate(request({ model: 'Hunyuan3D-2mv' })))).toBe('INVALID_REQUEST')
    expect(await codeOf(api.generate(request({ model: '   ' })))).toBe('INVALID_REQUEST')
    expect(await codeOf(api.addBackend({ url: 'http://127.0.0.1:9', model: 'a\u0000b' }))).toBe('INVALID_REQUEST')
    expect(await codeOf(api.setBackendModel({ id: 'gpu-000000000000', model: 'Hunyuan3D-2' }))).toBe('NOT_FOUND')
    expect(await api.generate(request({ model: 'hunyuan3d-2MINI' }))).toMatchObject({
      cache: 'miss',
      model: 'Hunyuan3D-2mini',
    })
  })
})
