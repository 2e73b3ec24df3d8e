import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createAppService } from '../../../src/core/service/create-service'
import type { ModelService } from '../../../src/core/service/model-service'
import { appAddresses } from '../../../src/shared/addresses'
import { generateRequestSchema } from '../../../src/shared/schemas'
import { startFakeHunyuan } from '../../support/fake-hunyuan'
import { BUILTIN_WORKER, numberedPicture } from '../../support/fixtures'
import { startLyingServer } from '../../support/lying-server'
import { until } from '../../support/until'

const opened: ModelService[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

async function create(config: { hunyuanServers?: { url: string; model?: string }[]; dataDir?: string }, limits = {}) {
  const service = await createAppService({
    config: { hunyuanServers: [], dataDir: undefined, ...config },
    workerPath: BUILTIN_WORKER,
    addresses: appAddresses,
    limits,
  })
  opened.push(service)
  return service
}

describe('createAppService', () => {
  it('offers the builtin generator, in memory only, without a data folder or a GPU server', async () => {
    const service = await create({}, { maxItems: 3 })
    expect((await service.backends()).map((b) => [b.id, b.isDefault, b.servers?.length])).toEqual([
      ['hunyuan3d-2', false, 0],
      ['builtin', true, undefined],
    ])
    expect(await service.getConfig()).toMatchObject({ maxItems: 3, diskMaxBytes: null })
    expect((await service.stats()).disk).toBeNull()
  })

  it('puts configured Hunyuan3D-2 servers first', async () => {
    const fake = await startFakeHunyuan()
    try {
      const service = await create({ hunyuanServers: [{ url: fake.url }] })
      expect((await service.backends()).map((b) => [b.id, b.isDefault])).toEqual([
        ['hunyuan3d-2', true],
        ['builtin', false],
      ])
    } finally {
      await fake.close()
    }
  })

  it('keeps the settings a user chose in the data folder, across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-settings-'))
    const first = await create({ dataDir })
    await first.setConfig({
      maxItems: 7,
      maxBytes: 64 * 1024 * 1024,
      diskMaxBytes: 32 * 1024 * 1024,
      policy: 'gdsf',
      similarityThreshold: 3,
    })
    await first.close()
    expect(JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8'))).toMatchObject({
      maxItems: 7,
      policy: 'gdsf',
    })
    const second = await create({ dataDir })
    expect(await second.getConfig()).toEqual({
      maxItems: 7,
      maxBytes: 64 * 1024 * 1024,
      diskMaxBytes: 32 * 1024 * 1024,
      policy: 'gdsf',
      similarityThreshold: 3,
    })
  })

  it('probes the saved GPU servers in the background, so start-up does not wait on them', async () => {
    const liar = await startLyingServer('hung')
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-servers-'))
      writeFileSync(
        join(dataDir, 'gpu-servers.json'),
        JSON.stringify({ servers: [{ url: liar.url, concurrency: 1, texture: false }] }),
      )
      // A hung box: every probe is taken and never answered (each gives up after 2 s).
      liar.silent = true
      await create({ dataDir })
      // Nothing was asked of the service, yet the saved server is being probed.
      await until(() => liar.asked.size > 0, 'the saved server was probed')
    } finally {
      await liar.close()
    }
  })

  it('adds a GPU server in the app: tested, used by the next request, kept across a restart, removable', async () => {
    const fake = await startFakeHunyuan()
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-servers-'))
      const first = await create({ dataDir })
      expect(await first.testBackend({ url: fake.url })).toMatchObject({ ok: true, state: 'ready', variant: '2.0' })
      const listed = await first.addBackend({ url: `${fake.url}/`, concurrency: 2, texture: false })
      expect(listed[0]?.servers).toMatchObject([{ url: fake.url, source: 'settings', concurrency: 2, variant: '2.0' }])
      expect((await first.generate(await request(1))).backend).toBe('hunyuan3d-2')
      expect((await fake.stats()).received).toHaveLength(1)
      await expect(first.addBackend({ url: fake.url, concurrency: 1, texture: false })).rejects.toThrow(
        /already set up/,
      )
      await first.close()
      expect(JSON.parse(readFileSync(join(dataDir, 'gpu-servers.json'), 'utf8'))).toEqual({
        servers: [{ url: fake.url, concurrency: 2, texture: false }],
      })

      const second = await create({ dataDir })
      const [gpu] = await second.backends()
      expect(gpu).toMatchObject({ isDefault: true, servers: [{ url: fake.url, source: 'settings' }] })
      const id = gpu?.servers?.[0]?.id as string
      await second.removeBackend({ id })
      expect((await second.generate(await request(2))).backend).toBe('builtin')
      expect(JSON.parse(readFileSync(join(dataDir, 'gpu-servers.json'), 'utf8'))).toEqual({ servers: [] })
    } finally {
      await fake.close()
    }
  })

  it('refuses a URL that is not a Hunyuan3D api_server, and a server from the environment, saving nothing', async () => {
    const other = createServer((_req, res) => res.end('<html>a router</html>'))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    const fake = await startFakeHunyuan()
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-servers-'))
      const service = await create({ dataDir, hunyuanServers: [{ url: fake.url }] })
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
      expect(await service.testBackend({ url })).toMatchObject({ ok: false, state: 'unreachable' })
      await expect(service.addBackend({ url, concurrency: 1, texture: false })).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        message: expect.stringMatching(/was not added: .*not like a Hunyuan3D api_server.*Nothing was saved/),
      })
      const [gpu] = await service.backends()
      expect(gpu?.servers).toMatchObject([{ url: fake.url, source: 'environment' }])
      await expect(service.removeBackend({ id: gpu?.servers?.[0]?.id as string })).rejects.toThrow(
        /comes from MESHCACHE_HUNYUAN_URL/,
      )
      expect(existsSync(join(dataDir, 'gpu-servers.json'))).toBe(false)
    } finally {
      other.close()
      await fake.close()
    }
  })
})

/** A parsed app request for picture n (the builtin generator reads the picture). */
async function request(n: number) {
  return generateRequestSchema.parse({ image: await numberedPicture(n), quality: 'draft' })
}
