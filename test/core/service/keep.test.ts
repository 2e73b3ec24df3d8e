import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ModelService } from '../../../src/core/service/model-service'
import { appAddresses } from '../../../src/shared/addresses'
import { teapotRequest } from '../../support/fixtures'
import { GatedGenerator } from '../../support/gated-generator'
import { makeService, type ServiceSetup } from '../../support/stacks'

/** Keep (issue 31): a model the user keeps never leaves its last tier, whatever arrives or is cleared. */

const request = teapotRequest

const open: ModelService[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

async function service(setup: Partial<ServiceSetup>, generator: GatedGenerator) {
  const svc = await makeService({ generators: [generator], ...setup }, appAddresses)
  open.push(svc)
  return svc
}

const listed = async (svc: ModelService) =>
  (await svc.entries({ offset: 0, limit: 50, sort: 'lastAccessAt', order: 'desc' })).items

describe('Keep', () => {
  it('survives the smallest limits while more models arrive, a clear of everything and a restart; then it is a hit', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'meshcache-keep-')), 'models')
    const generator = new GatedGenerator()
    generator.padding = 40_000
    // The disk holds about two models: every new one pushes an older one out.
    const setup = { diskDir: dir, limits: { maxItems: 1 }, diskOptions: { maxBytes: 100_000 } }
    const before = await service(setup, generator)
    const liked = await before.generate(request(1))
    expect(await before.keepEntry({ key: liked.key, keep: true })).toEqual({ key: liked.key, kept: true })
    for (const seed of [2, 3, 4, 5, 6]) await before.generate(request(seed))
    const stats = await before.stats()
    expect(stats.disk).toMatchObject({ keptItems: 1, keptBytes: liked.bytes })
    expect(stats.disk?.evictions).toBeGreaterThanOrEqual(3)
    expect((await listed(before)).find((e) => e.key === liked.key)).toMatchObject({ kept: true, tier: 'disk' })

    const cleared = await before.clear({ scope: 'all', kept: false })
    expect(cleared.keptLeft).toBe(1)
    expect((await listed(before)).map((e) => e.key)).toEqual([liked.key])
    await before.close()

    const after = await service(setup, generator)
    expect(await listed(after)).toEqual([expect.objectContaining({ key: liked.key, kept: true })])
    const runs = generator.runs
    expect(await after.generate(request(1))).toMatchObject({ key: liked.key, cache: 'hit' })
    expect(generator.runs).toBe(runs)
    // Its thumbnail stayed with it.
    expect((await listed(after))[0]?.thumbnailUrl).not.toBeNull()
  })

  it('lets a model go back under the policy, and a clear that asks for kept models takes them too', async () => {
    const generator = new GatedGenerator()
    const svc = await service({ disk: false, limits: { maxItems: 1 } }, generator)
    const liked = await svc.generate(request(1))
    await svc.keepEntry({ key: liked.key, keep: true })
    // Memory is this model's only tier: it stays there, counted, while others come and go.
    for (const seed of [2, 3]) await svc.generate(request(seed))
    expect(await svc.stats()).toMatchObject({ currentItems: 1, keptItems: 1 })
    expect(await svc.generate(request(1))).toMatchObject({ cache: 'hit' })
    expect((await listed(svc))[0]).toMatchObject({ key: liked.key, kept: true })

    await svc.keepEntry({ key: liked.key, keep: false })
    await svc.generate(request(4))
    expect((await listed(svc)).map((e) => e.key)).not.toContain(liked.key)

    const again = await svc.generate(request(5))
    await svc.keepEntry({ key: again.key, keep: true })
    expect(await svc.clear({ scope: 'all', kept: true })).toMatchObject({ removed: 1, keptLeft: 0 })
    expect(await listed(svc)).toEqual([])
  })

  it('answers 404 for a model no tier holds', async () => {
    const svc = await service({ disk: false }, new GatedGenerator())
    await expect(svc.keepEntry({ key: 'a'.repeat(64), keep: true })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
