import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createAppService } from '../../../src/core/service/create-service'
import type { ModelService } from '../../../src/core/service/model-service'
import { appAddresses } from '../../../src/shared/addresses'
import { startFakeHunyuan } from '../../support/fake-hunyuan'
import { BUILTIN_WORKER } from '../../support/fixtures'

const opened: ModelService[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

async function create(config: { hunyuanUrls?: string[]; dataDir?: string }, limits = {}) {
  const service = await createAppService({
    config: { hunyuanUrls: [], dataDir: undefined, ...config },
    workerPath: BUILTIN_WORKER,
    addresses: appAddresses,
    limits,
  })
  opened.push(service)
  return service
}

describe('createAppService', () => {
  it('offers the builtin generator alone, in memory only, without a data folder', async () => {
    const service = await create({}, { maxItems: 3 })
    expect((await service.backends()).map((b) => b.id)).toEqual(['builtin'])
    expect(await service.getConfig()).toMatchObject({ maxItems: 3, diskMaxBytes: null })
    expect((await service.stats()).disk).toBeNull()
  })

  it('puts configured Hunyuan3D-2 servers first', async () => {
    const fake = await startFakeHunyuan()
    try {
      const service = await create({ hunyuanUrls: [fake.url] })
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
})
