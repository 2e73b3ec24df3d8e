import { mkdtempSync, writeFileSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ModelService } from '../../../src/core/service/model-service'
import type { StorageFs } from '../../../src/core/storage/atomic-write'
import { appAddresses } from '../../../src/shared/addresses'
import { teapotRequest } from '../../support/fixtures'
import { GatedGenerator } from '../../support/gated-generator'
import { makeService, type ServiceSetup } from '../../support/stacks'

const tempDir = (): string => join(mkdtempSync(join(tmpdir(), 'meshcache-tiers-')), 'models')
const request = teapotRequest

const open: ModelService[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

async function service(setup: Partial<ServiceSetup> & { generator?: GatedGenerator } = {}) {
  const svc = await makeService({ generators: [setup.generator ?? new GatedGenerator()], ...setup }, appAddresses)
  open.push(svc)
  return svc
}

const tiers = async (svc: ModelService) =>
  (await svc.entries({ offset: 0, limit: 50, sort: 'lastAccessAt', order: 'desc' })).items.map((e) => [e.key, e.tier])

describe('TieredStore (memory over disk)', () => {
  it('answers before warm-up ends, then warms memory from disk in the background', async () => {
    const dir = tempDir()
    const before = await service({ diskDir: dir })
    const a = await before.generate(request(1))
    const b = await before.generate(request(2))
    await before.close()

    // Every file read of the warm-up waits until the test lets it go.
    let letGo!: () => void
    const gate = new Promise<void>((resolve) => {
      letGo = resolve
    })
    const fs: StorageFs = {
      ...fsp,
      open: (async (...args: Parameters<typeof fsp.open>) => {
        if (String(args[0]).endsWith('.glb')) await gate
        return fsp.open(...args)
      }) as StorageFs['open'],
    }
    const after = await service({ diskDir: dir, diskOptions: { fs } })
    // Open: the index is read, nothing is warm yet, and the service answers.
    expect(await after.stats()).toMatchObject({ currentItems: 0, disk: { currentItems: 2, warming: true } })
    expect(await after.getConfig()).toMatchObject({ maxItems: 1000 })
    letGo()
    await after.store.backgroundDone()
    expect(await after.stats()).toMatchObject({ currentItems: 2, loads: 0, disk: { hits: 0, warming: false } })
    expect(await tiers(after)).toEqual([
      [b.key, 'memory'],
      [a.key, 'memory'],
    ])
    expect(await after.generate(request(1))).toMatchObject({ key: a.key, cache: 'hit', tier: 'memory' })
  })

  it('warms only what fits; the rest is a disk hit that costs no generation', async () => {
    const dir = tempDir()
    const generator = new GatedGenerator()
    const before = await service({ diskDir: dir, generator })
    const older = await before.generate(request(1))
    const newer = await before.generate(request(2))
    await before.close()
    const after = await service({ diskDir: dir, generator, limits: { maxItems: 1 } })
    await after.store.backgroundDone()
    expect(await tiers(after)).toEqual([
      [newer.key, 'memory'],
      [older.key, 'disk'],
    ])
    expect(await after.generate(request(1))).toMatchObject({
      cache: 'hit',
      tier: 'disk',
      generationMs: older.generationMs,
    })
    expect(generator.runs).toBe(2)
  })

  it('never lets warm-up push out what a user loaded meanwhile', async () => {
    const dir = tempDir()
    const generator = new GatedGenerator()
    const before = await service({ diskDir: dir, generator })
    for (const seed of [1, 2, 3]) await before.generate(request(seed))
    await before.close()
    const after = await service({ diskDir: dir, generator, limits: { maxItems: 2 } })
    const fresh = await after.generate(request(9))
    await after.store.backgroundDone()
    const memory = (await tiers(after)).filter(([, tier]) => tier === 'memory').map(([key]) => key)
    expect(memory).toHaveLength(2)
    expect(memory[0]).toBe(fresh.key)
  })

  it('keeps the disk copy when memory evicts; clear can spare the disk', async () => {
    const svc = await service({ limits: { maxItems: 1 } })
    const a = await svc.generate(request(1))
    await svc.generate(request(2))
    expect(await svc.stats()).toMatchObject({ evictions: 1, currentItems: 1, disk: { currentItems: 2 } })
    expect(await svc.generate(request(1))).toMatchObject({ key: a.key, cache: 'hit', tier: 'disk' })
    expect(await svc.clear({ scope: 'memory', kept: false })).toEqual({
      removed: 1,
      removedFromDisk: 0,
      removedFromShared: 0,
      keptLeft: 0,
    })
    expect((await svc.entries({ offset: 0, limit: 50, sort: 'lastAccessAt', order: 'desc' })).total).toBe(2)
    expect(await svc.clear({ scope: 'all', kept: false })).toEqual({
      removed: 0,
      removedFromDisk: 2,
      removedFromShared: 0,
      keptLeft: 0,
    })
  })

  it('opens a disk-only model into memory, and deletes from both tiers', async () => {
    const svc = await service({ limits: { maxItems: 1 } })
    const a = await svc.generate(request(1))
    await svc.generate(request(2))
    expect((await svc.model(a.key))?.byteLength).toBe(a.bytes)
    expect((await tiers(svc)).find(([key]) => key === a.key)?.[1]).toBe('memory')
    await svc.deleteEntry({ key: a.key, scope: 'local' })
    await svc.flush()
    expect(await svc.model(a.key)).toBeUndefined()
  })

  it('still serves the result when the disk is full, and says so', async () => {
    const full: StorageFs = {
      ...fsp,
      rename: async () => {
        throw Object.assign(new Error('no space'), { code: 'ENOSPC' })
      },
    }
    const dir = tempDir()
    await (await service({ diskDir: dir })).close()
    const svc = await service({ diskDir: dir, diskOptions: { fs: full } })
    expect(await svc.generate(request(3))).toMatchObject({ cache: 'miss', stored: true })
    expect((await svc.stats()).disk).toMatchObject({
      currentItems: 0,
      writeFailures: 1,
      lastError: expect.stringMatching(/disk is full/),
    })
    expect((await svc.generate(request(3))).cache).toBe('hit')
  })

  it('works in memory only when the data folder is unusable', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'meshcache-tiers-'))
    writeFileSync(join(parent, 'file'), 'x')
    const svc = await service({ diskDir: join(parent, 'file', 'models') })
    expect((await svc.stats()).disk).toMatchObject({ enabled: false })
    expect((await svc.getConfig()).diskMaxBytes).toBeNull()
    expect((await svc.generate(request(4))).cache).toBe('miss')
    expect((await svc.generate(request(4))).cache).toBe('hit')
  })
})
