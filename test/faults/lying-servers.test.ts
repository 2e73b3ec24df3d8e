import { afterEach, describe, expect, it } from 'vitest'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import { HunyuanServer } from '../../src/core/generation/hunyuan/hunyuan-server'
import type { ModelService } from '../../src/core/service/model-service'
import { appAddresses } from '../../src/shared/addresses'
import { codeOf } from '../support/code-of'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { type LyingServer, startLyingServer } from '../support/lying-server'
import { makeService } from '../support/stacks'

/**
 * GPU servers that lie (test/support/lying-server.ts lists what each lie is): nothing a server
 * sends can crash or stall the host; what is shown of it is short; redirects are not followed.
 */

const liars: LyingServer[] = []
const services: ModelService[] = []
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()))
  await Promise.all(liars.splice(0).map((l) => l.close()))
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
