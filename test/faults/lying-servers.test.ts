import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { glbProblem } from '../../src/core/generation/glb-check'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import { HunyuanServer } from '../../src/core/generation/hunyuan/hunyuan-server'
import type { ModelService } from '../../src/core/service/model-service'
import { TieredStore } from '../../src/core/service/tiered-store'
import { DiskTier } from '../../src/core/storage/disk-tier'
import { ThumbnailStore } from '../../src/core/storage/thumbnail-store'
import { appAddresses } from '../../src/shared/addresses'
import { codeOf } from '../support/code-of'
import { type FakeHunyuan, startFakeHunyuan } from '../support/fake-hunyuan'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { type LyingServer, startLyingServer } from '../support/lying-server'
import { makeService } from '../support/stacks'

/**
 * GPU servers that lie (test/support/lying-server.ts lists what each lie is): nothing a server
 * sends can crash or stall the host; what is shown of it is short; redirects are not followed.
 */

const liars: LyingServer[] = []
const fakesToClose: FakeHunyuan[] = []
const services: ModelService[] = []
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()))
  await Promise.all(liars.splice(0).map((l) => l.close()))
  await Promise.all(fakesToClose.splice(0).map((f) => f.close()))
})

async function liar(...args: Parameters<typeof startLyingServer>): Promise<LyingServer> {
  const started = await startLyingServer(...args)
  liars.push(started)
  return started
}

const input = { image: fixture('triposr-chair'), prompt: '', quality: 'draft' as const, seed: 1 }
const signal = (): AbortSignal => new AbortController().signal

describe('a GPU server that lies', () => {
  it('answers an error whose body never ends: the reason is read to a cap, cut at 2 KB, and the rest never read', async () => {
    const server = await liar('endless-error')
    const pool = new HunyuanPool([new HunyuanServer({ url: server.url })])
    const failure = await pool.generate(input, { signal: signal() }).catch((error: Error) => error)
    expect((failure as Error).message).toMatch(/^The Hunyuan3D server failed: a{2048}… \(cut at 2 KB\)$/)
    expect((failure as Error).message.length).toBeLessThan(2200)
    await expect.poll(() => server.abandoned).toBe(1)
  })

  it('sends a 2 MB reason: shown cut at 2 KB', async () => {
    const server = await liar('big-error')
    const pool = new HunyuanPool([new HunyuanServer({ url: server.url })])
    const failure = (await pool.generate(input, { signal: signal() }).catch((error: Error) => error)) as Error
    expect(failure.message).toMatch(/^The Hunyuan3D server failed: Ah+… \(cut at 2 KB\)$/)
    expect(failure.message.length).toBeLessThan(2200)
  })

  it('sends a model past the size limit: refused with the limit named, the rest never read', async () => {
    const server = await liar('huge-model', { hugeBytes: 8 * 1024 * 1024 })
    const pool = new HunyuanPool([new HunyuanServer({ url: server.url, maxModelBytes: 1024 * 1024 })])
    const failure = (await pool.generate(input, { signal: signal() }).catch((error: Error) => error)) as Error
    expect(failure.message).toBe(
      `The Hunyuan3D server at ${server.url} sent a model larger than 1 MB, so it was refused (MESHCACHE_MAX_MODEL_BYTES sets the limit).`,
    )
    await expect.poll(() => server.abandoned).toBe(1)
  })

  it('answers with a redirect to another host: never followed, said when adding, nothing saved', async () => {
    const elsewhere = await liar('huge-model')
    const server = await liar('redirect', { redirectTo: `${elsewhere.url}/` })
    const service = await makeService({ generators: [new GatedGenerator()] }, appAddresses)
    services.push(service)
    const test = await service.testBackend({ url: server.url })
    expect(test).toMatchObject({ ok: false, state: 'unreachable' })
    expect(test.detail).toBe(
      `The server at ${server.url} answered with a redirect to ${elsewhere.url}/. MeshCache does not follow redirects: add that address itself if you trust it.`,
    )
    expect(await codeOf(service.addBackend({ url: server.url, concurrency: 1, texture: false }))).toBe(
      'BACKEND_UNAVAILABLE',
    )
    expect(elsewhere.asked.size).toBe(0)
  })
})

/** A GLB of a JSON document and a binary chunk, as written, whatever they claim. */
function glbOf(json: object, bin: Uint8Array, patch?: (view: DataView) => void): Uint8Array {
  let text = Buffer.from(JSON.stringify(json))
  text = Buffer.concat([text, Buffer.alloc((-text.length % 4) & 3, 0x20)])
  const total = 12 + 8 + text.length + 8 + bin.byteLength
  const bytes = new Uint8Array(total)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, 0x46546c67, true)
  view.setUint32(4, 2, true)
  view.setUint32(8, total, true)
  view.setUint32(12, text.length, true)
  view.setUint32(16, 0x4e4f534a, true)
  bytes.set(text, 20)
  view.setUint32(20 + text.length, bin.byteLength, true)
  view.setUint32(24 + text.length, 0x004e4942, true)
  bytes.set(bin, 28 + text.length)
  patch?.(view)
  return bytes
}

const triangle = (byteLength = 36) => ({
  asset: { version: '2.0' },
  buffers: [{ byteLength }],
  bufferViews: [{ buffer: 0, byteOffset: 0, byteLength: 36 }],
  accessors: [{ bufferView: 0, componentType: 5126, count: 3, type: 'VEC3', min: [0, 0, 0], max: [1, 1, 0] }],
  meshes: [{ primitives: [{ attributes: { POSITION: 0 } }] }],
  nodes: [{ mesh: 0 }],
  scenes: [{ nodes: [0] }],
})

const LYING_GLBS: [string, Uint8Array, string][] = [
  [
    'a JSON chunk claiming 2³¹ bytes',
    glbOf(triangle(), new Uint8Array(36), (v) => v.setUint32(12, 2 ** 31, true)),
    'its JSON chunk claims more bytes than the file has',
  ],
  ['a buffer claiming 4 GB', glbOf(triangle(2 ** 32), new Uint8Array(36)), 'a buffer lies outside the file'],
  [
    'a binary chunk cut short with its length patched',
    glbOf(triangle(), new Uint8Array(24)),
    'a buffer lies outside the file',
  ],
  [
    'an accessor reading past its view',
    glbOf(
      { ...triangle(), accessors: [{ bufferView: 0, componentType: 5126, count: 300, type: 'VEC3' }] },
      new Uint8Array(36),
    ),
    'an accessor reads past the end of its buffer view',
  ],
]

describe('a GLB whose header is right and whose content lies', () => {
  it.each(LYING_GLBS)('with %s is refused with the reason, never cached', async (_name, served, reason) => {
    const gpu = await startFakeHunyuan({ served })
    fakesToClose.push(gpu)
    const service = await makeService({ generators: [new GatedGenerator()], pool: new HunyuanPool([]) }, appAddresses)
    services.push(service)
    await service.addBackend({ url: gpu.url, concurrency: 1, texture: false })
    const request = {
      image: fixture('triposr-robot'),
      prompt: '',
      quality: 'draft' as const,
      seed: 1,
      reuse: 'exact' as const,
    }
    const failure = (await service.generate(request).catch((error: Error) => error)) as Error
    expect(failure.message).toBe(
      `The Hunyuan3D server returned a GLB that lies about its contents: ${reason}. It was not kept.`,
    )
    expect(await service.stats()).toMatchObject({ currentItems: 0, loads: 0 })
  })

  it.each(LYING_GLBS)(
    'with %s, already on disk, is removed on first read and never served',
    async (_name, lying, reason) => {
      const dir = mkdtempSync(join(tmpdir(), 'meshcache-lying-disk-'))
      const key = 'a'.repeat(64)
      const disk = new DiskTier({ dir, log: () => undefined })
      await disk.open()
      await disk.write(key, lying, { generationMs: 1, meta: {} })
      const removed: string[] = []
      const store = new TieredStore({
        disk,
        thumbnails: new ThumbnailStore(),
        problemOf: glbProblem,
        onBadModel: (_key, tier, problem) => removed.push(`${tier}: ${problem}`),
      })
      expect(await store.model(key)).toBeUndefined()
      expect(removed).toEqual([`disk: ${reason}`])
      expect(disk.has(key)).toBe(false)
      store.close()
    },
  )
})
