import { describe, expect, it } from 'vitest'
import { createAppService } from '../src/main/create-service'
import { startFakeHunyuan } from './support/fake-hunyuan'
import { BUILTIN_WORKER } from './support/fixtures'

describe('createAppService', () => {
  it('offers the builtin generator alone, in memory only, by default', async () => {
    const service = await createAppService({ workerPath: BUILTIN_WORKER, modelUrl: (k) => k, limits: { maxItems: 3 } })
    expect((await service.backends()).map((b) => b.id)).toEqual(['builtin'])
    expect(service.getConfig()).toMatchObject({ maxItems: 3, diskMaxBytes: null })
    expect(service.stats().disk).toBeNull()
  })

  it('puts a configured Hunyuan3D-2 server first', async () => {
    const fake = await startFakeHunyuan('ok')
    try {
      const service = await createAppService({ workerPath: BUILTIN_WORKER, modelUrl: (k) => k, hunyuanUrl: fake.url })
      const backends = await service.backends()
      expect(backends.map((b) => [b.id, b.isDefault])).toEqual([
        ['hunyuan3d-2', true],
        ['builtin', false],
      ])
    } finally {
      await fake.close()
    }
  })
})
