import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BuiltinGenerator } from '../../../src/core/generation/builtin/builtin-generator'
import { ModelService } from '../../../src/core/service'
import { type DiskFs, DiskTier } from '../../../src/core/storage/disk-tier'
import { BUILTIN_WORKER, fixture } from '../../support/fixtures'

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'meshcache-disk-'))
const key = (n: number): string => n.toString(16).padStart(64, '0')
const glb = (n: number, size = 1000): Uint8Array => new Uint8Array(size).fill(n)
const info = { generationMs: 1234, meta: { prompt: 'p' } }
const glbFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.glb'))

async function opened(
  dir: string,
  options: Partial<ConstructorParameters<typeof DiskTier>[0]> = {},
): Promise<DiskTier> {
  const tier = new DiskTier({ dir, saveDelayMs: 5, ...options })
  await tier.open()
  return tier
}

describe('DiskTier', () => {
  it('keeps models across a restart, verified by hash', async () => {
    const dir = tempDir()
    const first = await opened(dir)
    expect(await first.write(key(1), glb(1), info)).toBe(true)
    expect(await first.write(key(2), glb(2), info)).toBe(true)
    await first.flush()
    const second = await opened(dir)
    expect(second.stats()).toMatchObject({ enabled: true, currentItems: 2, currentBytes: 2000, dropped: 0 })
    const read = await second.read(key(1))
    expect(read?.bytes).toEqual(glb(1))
    expect(read?.record).toMatchObject({ generationMs: 1234, meta: { prompt: 'p' } })
    expect(second.recent().map((r) => r.key)).toEqual([key(1), key(2)])
  })

  it('stores identical models once and removes a file only when no key uses it', async () => {
    const dir = tempDir()
    const tier = await opened(dir)
    await tier.write(key(1), glb(7), info)
    await tier.write(key(2), glb(7), info)
    expect(glbFiles(dir)).toHaveLength(1)
    tier.delete(key(1))
    await tier.flush()
    expect(glbFiles(dir)).toHaveLength(1)
    tier.delete(key(2))
    await tier.flush()
    expect(glbFiles(dir)).toHaveLength(0)
  })

  it('evicts the least recently used models past its byte limit, files included', async () => {
    const dir = tempDir()
    const tier = await opened(dir, { maxBytes: 2500 })
    await tier.write(key(1), glb(1), info)
    await tier.write(key(2), glb(2), info)
    tier.touch(key(1))
    await tier.write(key(3), glb(3), info)
    await tier.flush()
    expect(tier.recent().map((r) => r.key)).toEqual([key(3), key(1)])
    expect(tier.stats()).toMatchObject({ evictions: 1, currentBytes: 2000 })
    expect(glbFiles(dir)).toHaveLength(2)
    tier.setMaxBytes(1000)
    await tier.flush()
    expect(glbFiles(dir)).toHaveLength(1)
    expect(await tier.write(key(4), glb(4, 5000), info)).toBe(false)
  })

  it('never turns an interrupted write into a hit: stray temporary files and truncated files are dropped', async () => {
    const dir = tempDir()
    const first = await opened(dir)
    await first.write(key(1), glb(1), info)
    await first.write(key(2), glb(2), info)
    await first.flush()
    // A crash mid-write leaves a temporary file; a torn copy leaves a short file.
    writeFileSync(join(dir, '.tmp-deadbeef'), glb(9, 10))
    const victim = glbFiles(dir).find((f) => readFileSync(join(dir, f))[0] === 2) as string
    writeFileSync(join(dir, victim), glb(2, 400))
    const second = await opened(dir)
    expect(readdirSync(dir).some((f) => f.startsWith('.tmp-'))).toBe(false)
    expect(second.stats()).toMatchObject({ currentItems: 1, dropped: 1 })
    expect(await second.read(key(2))).toBeUndefined()
    expect(existsSync(join(dir, victim))).toBe(false)
  })

  it('drops a file that goes bad after opening instead of serving it', async () => {
    const dir = tempDir()
    const tier = await opened(dir)
    await tier.write(key(1), glb(1), info)
    const [file] = glbFiles(dir)
    const bytes = readFileSync(join(dir, file as string))
    bytes[10] = 99
    writeFileSync(join(dir, file as string), bytes)
    expect(await tier.read(key(1))).toBeUndefined()
    expect(tier.stats()).toMatchObject({ readFailures: 1, currentItems: 0 })
  })

  it('starts empty from a corrupt index and removes the files nobody references', async () => {
    const dir = tempDir()
    const first = await opened(dir)
    await first.write(key(1), glb(1), info)
    await first.flush()
    writeFileSync(join(dir, 'index.json'), '{"version": 1, "entries": [trunc')
    const second = await opened(dir)
    expect(second.stats()).toMatchObject({ enabled: true, currentItems: 0 })
    expect(glbFiles(dir)).toHaveLength(0)
  })

  it('reports a full disk without failing the caller', async () => {
    const dir = tempDir()
    const full: DiskFs = {
      ...fsp,
      open: (async (path: string, flags?: string) => {
        const handle = await fsp.open(path, flags)
        return Object.assign(handle, {
          writeFile: async () => {
            throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })
          },
        })
      }) as DiskFs['open'],
    }
    const tier = await opened(dir, { fs: full })
    expect(await tier.write(key(1), glb(1), info)).toBe(false)
    expect(tier.stats()).toMatchObject({ writeFailures: expect.any(Number), currentItems: 0 })
    expect(tier.stats().lastError).toMatch(/disk is full/)
    expect(readdirSync(dir).filter((f) => f.startsWith('.tmp-'))).toEqual([])
  })

  it('turns itself off when its folder cannot be used', async () => {
    const parent = tempDir()
    writeFileSync(join(parent, 'not-a-folder'), 'x')
    const tier = await opened(join(parent, 'not-a-folder', 'models'))
    expect(tier.enabled).toBe(false)
    expect(tier.stats().lastError).toMatch(/not a folder/)
    expect(await tier.write(key(1), glb(1), info)).toBe(false)
    expect(await tier.read(key(1))).toBeUndefined()
  })
})

describe('ModelService with a disk tier', () => {
  const request = (seed: number, picture = 'triposr-chair'): Record<string, unknown> => ({
    image: fixture(picture),
    prompt: 'chair',
    quality: 'draft',
    seed,
  })
  const service = async (dir: string, limits = {}, options: { fs?: DiskFs } = {}): Promise<ModelService> => {
    const svc = new ModelService({
      generators: [new BuiltinGenerator({ workerPath: BUILTIN_WORKER })],
      modelUrl: (k) => k,
      limits,
      disk: new DiskTier({ dir, saveDelayMs: 5, ...options }),
    })
    await svc.init()
    return svc
  }

  it('entries survive a restart and warm the memory tier', async () => {
    const dir = tempDir()
    const before = await service(dir)
    const a = await before.generate(request(1))
    const b = await before.generate(request(2, 'triposr-robot'))
    await before.flush()

    const after = await service(dir)
    // Warming memory at start is not counted as use.
    expect(after.stats()).toMatchObject({ currentItems: 2, loads: 0, disk: { hits: 0, currentItems: 2 } })
    const again = await after.generate(request(1))
    expect(again).toMatchObject({ key: a.key, cache: 'hit', tier: 'memory', generationMs: a.generationMs })
    expect(
      Buffer.from((await after.model(b.key)) as Uint8Array).equals(
        Buffer.from((await before.model(b.key)) as Uint8Array),
      ),
    ).toBe(true)
    expect(after.stats().loads).toBe(0)
  })

  it('warms only what fits; the rest is a disk hit that costs no generation', async () => {
    const dir = tempDir()
    const before = await service(dir)
    const older = await before.generate(request(1))
    const newer = await before.generate(request(2))
    await before.flush()

    const after = await service(dir, { maxItems: 1 })
    expect(after.entries().items.map((e) => [e.key, e.tier])).toEqual([
      [newer.key, 'memory'],
      [older.key, 'disk'],
    ])
    const fromDisk = await after.generate(request(1))
    expect(fromDisk).toMatchObject({ cache: 'hit', tier: 'disk', generationMs: older.generationMs })
    expect(after.stats().disk).toMatchObject({ hits: expect.any(Number) })
    expect(after.stats().savedMs).toBe(0) // a disk read is a load, not a memory hit
  })

  it('keeps the disk copy when memory evicts; clear can spare the disk', async () => {
    const dir = tempDir()
    const svc = await service(dir, { maxItems: 1 })
    const a = await svc.generate(request(1))
    await svc.generate(request(2))
    await svc.flush()
    expect(svc.stats()).toMatchObject({ evictions: 1, currentItems: 1, disk: { currentItems: 2 } })
    expect(await svc.generate(request(1))).toMatchObject({ key: a.key, cache: 'hit', tier: 'disk' })

    expect(svc.clear('memory')).toEqual({ removed: 1, removedFromDisk: 0 })
    expect(svc.entries().total).toBe(2)
    expect(svc.clear('all')).toEqual({ removed: 0, removedFromDisk: 2 })
    expect(svc.entries().total).toBe(0)
    expect(() => svc.clear('some')).toThrow(/scope/)
  })

  it('deletes from both tiers, and opens a disk-only model into memory', async () => {
    const dir = tempDir()
    const svc = await service(dir, { maxItems: 1 })
    const a = await svc.generate(request(1))
    await svc.generate(request(2))
    await svc.flush()
    expect(svc.entries().items.find((e) => e.key === a.key)?.tier).toBe('disk')
    expect((await svc.model(a.key))?.byteLength).toBe(a.bytes)
    expect(svc.entries().items.find((e) => e.key === a.key)?.tier).toBe('memory')
    expect(svc.deleteEntry(a.key)).toBe(true)
    await svc.flush()
    expect(await svc.model(a.key)).toBeUndefined()
    expect(svc.deleteEntry(a.key)).toBe(false)
  })

  it('still serves the result when the disk is full, and says so in the statistics', async () => {
    const dir = tempDir()
    const full: DiskFs = {
      ...fsp,
      rename: async () => {
        throw Object.assign(new Error('no space'), { code: 'ENOSPC' })
      },
    }
    const svc = await service(dir, {}, { fs: full })
    const result = await svc.generate(request(3))
    expect(result.cache).toBe('miss')
    await svc.flush()
    expect(svc.stats().disk).toMatchObject({ currentItems: 0, lastError: expect.stringMatching(/disk is full/) })
    expect((await svc.generate(request(3))).cache).toBe('hit')
  })

  it('works in memory only when the data folder is unusable', async () => {
    const parent = tempDir()
    writeFileSync(join(parent, 'file'), 'x')
    const svc = await service(join(parent, 'file', 'models'))
    expect(svc.stats().disk).toMatchObject({ enabled: false })
    expect((await svc.generate(request(4))).cache).toBe('miss')
    expect((await svc.generate(request(4))).cache).toBe('hit')
  })

  it('changes the disk limit through the config and refuses it without a disk tier', async () => {
    const svc = await service(tempDir())
    expect(svc.setConfig({ diskMaxBytes: 64 * 1024 * 1024 })).toMatchObject({ diskMaxBytes: 64 * 1024 * 1024 })
    const memoryOnly = new ModelService({
      generators: [new BuiltinGenerator({ workerPath: BUILTIN_WORKER })],
      modelUrl: (k) => k,
    })
    expect(() => memoryOnly.setConfig({ diskMaxBytes: 64 * 1024 * 1024 })).toThrow(/no disk tier/)
  })
})
