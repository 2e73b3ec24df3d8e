import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { HunyuanCompat } from '../../src/core/compat/hunyuan-compat'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import { LOOP_MESSAGE } from '../../src/core/instance'
import type { ModelService } from '../../src/core/service/model-service'
import { buildHost } from '../../src/server/app'
import { hunyuanRoutes } from '../../src/server/hunyuan-routes'
import { appAddresses } from '../../src/shared/addresses'
import { codeOf } from '../support/code-of'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { type HostProcess, startHostProcess } from '../support/host-process'
import { makeService } from '../support/stacks'

/**
 * MeshCache as its own GPU server, and two MeshCaches fronting each other: refused with a
 * message naming the loop, never waited on (before, the first looped its probes without end
 * and the second deadlocked every generation until the 20-minute deadline).
 */
const running: { app: FastifyInstance; service: ModelService }[] = []
const hosts: HostProcess[] = []
afterEach(async () => {
  for (const { app, service } of running.splice(0)) {
    await app.close()
    await service.close()
  }
  await Promise.all(hosts.splice(0).map((host) => host.crash()))
})

describe('loops', () => {
  it('refuses adding this MeshCache itself as a GPU server', async () => {
    const service = await makeService({ generators: [new GatedGenerator()], pool: new HunyuanPool([]) }, appAddresses)
    const app = await buildHost({ service, plugins: [hunyuanRoutes(new HunyuanCompat(service), '/hunyuan')] })
    await app.listen({ host: '127.0.0.1', port: 0 })
    running.push({ app, service })
    const self = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/hunyuan`
    const adding = service.addBackend({ url: self, concurrency: 1, texture: false })
    expect(await codeOf(adding)).toBe('BACKEND_UNAVAILABLE')
    await expect(service.addBackend({ url: self, concurrency: 1, texture: false })).rejects.toThrow(
      `${self} is this MeshCache itself (its Hunyuan3D drop-in): it cannot be its own GPU server.`,
    )
    expect((await service.backends()).find((backend) => backend.gpu)?.servers).toEqual([])
  })

  it('answers at once, naming the loop, when two MeshCaches front each other', async () => {
    const a = await startHostProcess({ MESHCACHE_DATA_DIR: 'off' })
    hosts.push(a)
    const b = await startHostProcess({ MESHCACHE_DATA_DIR: 'off', MESHCACHE_HUNYUAN_URL: `${a.url}/hunyuan` })
    hosts.push(b)
    const added = await fetch(`${a.url}/api/backends`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${b.url}/hunyuan` }),
    })
    expect(added.status).toBe(200)
    const image = Buffer.from(fixture('triposr-robot')).toString('base64')
    const answer = await fetch(`${a.url}/api/generate-3d-cached`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image, quality: 'draft' }),
    })
    const body = (await answer.json()) as { code: string; message: string }
    expect(answer.status).toBe(502)
    expect(body.message).toContain(LOOP_MESSAGE)
  })
})
