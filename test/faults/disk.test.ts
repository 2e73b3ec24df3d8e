import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { StorageFs } from '../../src/core/storage/atomic-write'
import { DiskTier } from '../../src/core/storage/disk-tier'
import { bytesOf, glb, glbFiles, info, key, opened, recordFiles, sha, tempDir, used } from '../support/disk'

describe('DiskTier under faults', () => {
  it('never serves a file that went bad after start: the read drops it, and so does the scrub', async () => {
    const dir = tempDir()
    await used(dir)
    const { tier } = await opened(dir)
    writeFileSync(join(dir, `${sha(glb(1))}.glb`), glb(9))
    writeFileSync(join(dir, `${sha(glb(2))}.glb`), glb(2).subarray(0, 10))
    expect(await tier.read(key(1))).toBeUndefined()
    expect(tier.stats()).toMatchObject({ readFailures: 1, dropped: 1, currentItems: 2 })
    expect(await tier.scrub()).toBe(1)
    expect(tier.recent().map((r) => r.key)).toEqual([key(3)])
    expect(tier.stats().lastError).toMatch(/missing or damaged/)
  })

  it('drops a pipe or other non-file found in place of a model instead of waiting on it', async () => {
    const dir = tempDir()
    await used(dir)
    const path = join(dir, `${sha(glb(2))}.glb`)
    rmSync(path)
    execFileSync('mkfifo', [path])
    const { tier } = await opened(dir)
    expect(await tier.read(key(2))).toBeUndefined()
    expect(tier.stats()).toMatchObject({ readFailures: 1, currentItems: 2 })
  })

  describe('a damaged index never costs a model', () => {
    const variants: [string, (path: string) => void][] = [
      ['cut to half its size', (p) => writeFileSync(p, readFileSync(p).subarray(0, readFileSync(p).length >> 1))],
      ['empty', (p) => writeFileSync(p, '')],
      ['garbage', (p) => writeFileSync(p, '\u0000\u00ff not json at all')],
      ['null', (p) => writeFileSync(p, 'null')],
      ['[1,2,3]', (p) => writeFileSync(p, '[1,2,3]')],
      [
        'a folder',
        (p) => {
          rmSync(p)
          mkdirSync(p)
        },
      ],
    ]
    it.each(variants)(
      'when it is %s: every model stays, the index is moved aside and the log says so',
      async (_name, damage) => {
        const dir = tempDir()
        await used(dir)
        damage(join(dir, 'index.json'))
        const { tier, log } = await opened(dir)
        expect(tier.stats()).toMatchObject({ enabled: true, currentItems: 3, readOnly: false })
        expect(tier.stats().lastError).toMatch(/index could not be read|was a folder/)
        expect(log.join('\n')).toMatch(/moved aside/)
        expect(glbFiles(dir)).toHaveLength(3)
        expect(readdirSync(dir).some((f) => f.startsWith('index.json.damaged-'))).toBe(true)
        for (const n of [1, 2, 3]) expect(bytesOf(await tier.read(key(n)))).toEqual(glb(n))
      },
    )
  })

  it('leaves data written by a newer MeshCache alone: served, never changed', async () => {
    const dir = tempDir()
    await used(dir)
    writeFileSync(join(dir, 'FORMAT'), '3')
    const before = readdirSync(dir).sort()
    const { tier } = await opened(dir)
    expect(tier.stats()).toMatchObject({ enabled: true, readOnly: true, currentItems: 3 })
    expect(tier.stats().lastError).toMatch(/newer MeshCache/)
    expect(bytesOf(await tier.read(key(1)))).toEqual(glb(1))
    expect(await tier.write(key(4), glb(4), info)).toBe(false)
    expect(tier.delete(key(1))).toBe(false)
    expect(tier.clear()).toBe(0)
    await tier.flush()
    expect(readdirSync(dir).sort()).toEqual(before)
    expect(recordFiles(dir)).toHaveLength(3)
  })

  it('reads the record files of index entries it cannot read, even when the records folder is unchanged', async () => {
    const dir = tempDir()
    await used(dir)
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
    // The snapshot vouches for an unchanged records folder; two of its entries are damaged.
    expect(index.recordsMtimeMs).toBe(statSync(join(dir, 'records')).mtimeMs)
    index.entries[0].meta.prompt = { nested: true }
    index.entries[1].generationMs = -1
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index))
    const { tier, log } = await opened(dir)
    expect(tier.stats()).toMatchObject({ currentItems: 3, badRecords: 0 })
    for (const n of [1, 2, 3]) expect(bytesOf(await tier.read(key(n)))).toEqual(glb(n))
    expect(log.join('\n')).toMatch(/2 index entr\(ies\) could not be read; their record files were read instead/)
  })

  it('skips index records it cannot read, counts them, and starts', async () => {
    const dir = tempDir()
    await used(dir)
    const path = (n: number): string => join(dir, 'records', `${key(n)}.json`)
    const record = JSON.parse(readFileSync(path(1), 'utf8'))
    writeFileSync(path(1), JSON.stringify({ ...record, meta: { prompt: { nested: true } } }))
    writeFileSync(path(2), JSON.stringify({ ...record, key: key(2), generationMs: -1 }))
    rmSync(join(dir, 'index.json'))
    const { tier, log } = await opened(dir)
    await tier.tidy()
    expect(tier.stats()).toMatchObject({ enabled: true, currentItems: 1, badRecords: 2 })
    expect(log.join('\n')).toMatch(/2 index record\(s\) could not be read/)
    // The models of unreadable records are kept, not deleted.
    expect(readdirSync(join(dir, 'lost+found'))).toHaveLength(2)
  })

  it('migrates an index of the first layout, and recovers what it can from a damaged one', async () => {
    const dir = tempDir()
    mkdirSync(dir, { recursive: true })
    const records = [1, 2, 3].map((n) => {
      writeFileSync(join(dir, `${sha(glb(n))}.glb`), glb(n))
      return {
        key: key(n),
        file: sha(glb(n)),
        bytes: 1000,
        createdAt: n,
        lastAccessAt: n,
        hits: 0,
        generationMs: 5,
        meta: { prompt: `p${n}` },
      }
    })
    const text = JSON.stringify({ version: 1, entries: records })
    writeFileSync(join(dir, 'index.json'), text.slice(0, text.indexOf(key(3)) + 10))
    const { tier } = await opened(dir)
    await tier.tidy()
    expect(tier.recent().map((r) => r.key)).toEqual([key(2), key(1)])
    expect(readFileSync(join(dir, 'FORMAT'), 'utf8')).toBe('2')
    expect(recordFiles(dir).sort()).toEqual([key(1), key(2)].map((k) => `${k}.json`))
    // The third model's record was lost with the index: its file is kept aside, not deleted.
    expect(readdirSync(join(dir, 'lost+found'))).toEqual([`${sha(glb(3))}.glb`])
  })

  it('reports a full disk without failing the caller, and keeps working', async () => {
    const dir = tempDir()
    let full = false
    const fs: StorageFs = {
      ...fsp,
      open: (async (path: string, flags?: string) => {
        if (full && String(path).includes('.tmp-')) throw Object.assign(new Error('no space'), { code: 'ENOSPC' })
        return fsp.open(path, flags)
      }) as StorageFs['open'],
    }
    const { tier } = await opened(dir, { fs })
    full = true
    expect(await tier.write(key(1), glb(1), info)).toBe(false)
    expect(tier.stats()).toMatchObject({
      writeFailures: 1,
      currentItems: 0,
      lastError: expect.stringMatching(/disk is full/),
    })
    full = false
    expect(await tier.write(key(1), glb(1), info)).toBe(true)
    expect(tier.stats()).toMatchObject({ currentItems: 1, lastError: null })
  })

  it('turns itself off when its folder cannot be used', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'meshcache-disk-'))
    writeFileSync(join(parent, 'file'), 'x')
    const { tier } = await opened(join(parent, 'file', 'models'))
    expect(tier.stats()).toMatchObject({ enabled: false, lastError: expect.stringMatching(/not a folder/) })
    expect(await tier.write(key(1), glb(1), info)).toBe(false)
    expect(await tier.read(key(1))).toBeUndefined()
  })

  it('keeps a model written while the tidy lists the folder', async () => {
    const dir = tempDir()
    await used(dir)
    // The listing of the models folder is taken, then held until the write is done.
    let releaseListing = (): void => undefined
    const listingHeld = new Promise<void>((resolve) => {
      releaseListing = resolve
    })
    let listed = (): void => undefined
    const listingTaken = new Promise<void>((resolve) => {
      listed = resolve
    })
    const fs: StorageFs = {
      ...fsp,
      readdir: (async (path: string) => {
        const names = await fsp.readdir(path)
        if (path === dir) {
          listed()
          await listingHeld
        }
        return names
      }) as StorageFs['readdir'],
    }
    const { tier } = await opened(dir, { fs })
    const tidying = tier.tidy()
    await listingTaken
    expect(await tier.write(key(4), glb(4), info)).toBe(true)
    releaseListing()
    await tidying
    expect(tier.stats()).toMatchObject({ currentItems: 4, dropped: 0 })
    expect(bytesOf(await tier.read(key(4)))).toEqual(glb(4))
  })

  it('keeps a leftover file that a new write takes while the tidy removes leftovers', async () => {
    const dir = tempDir()
    await used(dir)
    // Two files no record refers to (as after a crash between a model and its record).
    writeFileSync(join(dir, `${sha(glb(8))}.glb`), glb(8))
    writeFileSync(join(dir, `${sha(glb(9))}.glb`), glb(9))
    let releaseRemoval = (): void => undefined
    const removalHeld = new Promise<void>((resolve) => {
      releaseRemoval = resolve
    })
    let removing = (_path: string): void => undefined
    const firstRemoval = new Promise<string>((resolve) => {
      removing = resolve
    })
    let held = false
    const fs: StorageFs = {
      ...fsp,
      rm: (async (path: string, options?: Parameters<typeof fsp.rm>[1]) => {
        // The first leftover's removal waits until the test lets it go.
        if (path.endsWith('.glb') && !held) {
          held = true
          removing(path)
          await removalHeld
        }
        return fsp.rm(path, options)
      }) as StorageFs['rm'],
    }
    const { tier } = await opened(dir, { fs })
    const tidying = tier.tidy()
    const other = (await firstRemoval).includes(sha(glb(8))) ? 9 : 8
    // While the first leftover is being removed, the other one becomes a model again.
    expect(await tier.write(key(other), glb(other), info)).toBe(true)
    releaseRemoval()
    await tidying
    expect(bytesOf(await tier.read(key(other)))).toEqual(glb(other))
  })

  it('never deletes a file that an entry points to, however stores, deletes, clears, evictions, saves and the start-up tidy interleave', async () => {
    // Identical bytes under different keys share one file: the race the index must survive.
    const command = fc.oneof(
      fc.record({
        op: fc.constant('write' as const),
        key: fc.integer({ min: 1, max: 6 }),
        bytes: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 1, max: 6 }) }),
      fc.record({
        op: fc.constantFrom('clear' as const, 'flush' as const, 'shrink' as const, 'grow' as const, 'tidy' as const),
      }),
    )
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(command, { minLength: 1, maxLength: 14 }), async (s, commands) => {
        const dir = tempDir()
        // Every file operation waits for the scheduler, so any interleaving can happen.
        // Listing a folder also waits after it is read, so the folder may change under a listing.
        const scheduled = <T extends (...args: never[]) => Promise<unknown>>(fn: T, label: string): T =>
          ((...args: Parameters<T>) => s.schedule(Promise.resolve(), label).then(() => fn(...args))) as T
        const listed = ((...args: Parameters<typeof fsp.readdir>) =>
          s
            .schedule(Promise.resolve(), 'readdir')
            .then(() => fsp.readdir(...args))
            .then((names) => s.schedule(Promise.resolve(names), 'readdir done'))) as StorageFs['readdir']
        const fs: StorageFs = {
          ...fsp,
          rm: scheduled(fsp.rm, 'rm'),
          rename: scheduled(fsp.rename, 'rename'),
          open: scheduled(fsp.open, 'open') as StorageFs['open'],
          readdir: listed,
        }
        const tier = new DiskTier({ dir, fs, maxBytes: 4000, snapshotDelayMs: 1, log: () => undefined })
        const opening = tier.open()
        await s.waitFor(opening)
        const work: Promise<unknown>[] = []
        for (const c of commands) {
          if (c.op === 'write') work.push(tier.write(key(c.key), glb(c.bytes), info))
          else if (c.op === 'delete') tier.delete(key(c.key))
          else if (c.op === 'clear') tier.clear()
          else if (c.op === 'flush') work.push(tier.flush())
          else if (c.op === 'tidy') work.push(tier.tidy())
          else tier.setMaxBytes(c.op === 'shrink' ? 2500 : 4000)
        }
        await s.waitFor(Promise.all(work))
        await s.waitFor(tier.flush())
        // No write failed for the tidy's sake (a failed write would keep its model in memory only).
        expect(tier.stats().lastError).toBeNull()
        // Nothing went missing or bad here, so the tidy had nothing to drop.
        expect(tier.stats().dropped).toBe(0)
        // Every entry's file is there, whole; no file or record is left without an entry.
        const files = new Set(glbFiles(dir).map((f) => f.slice(0, 64)))
        for (const record of tier.recent()) {
          expect(files.has(record.file)).toBe(true)
          expect(sha(readFileSync(join(dir, `${record.file}.glb`)))).toBe(record.file)
        }
        expect([...files].sort()).toEqual([...new Set(tier.recent().map((r) => r.file))].sort())
        expect(recordFiles(dir).sort()).toEqual(
          tier
            .recent()
            .map((r) => `${r.key}.json`)
            .sort(),
        )
        // And a restart finds exactly the same models.
        const { tier: again } = await opened(dir)
        expect(
          again
            .recent()
            .map((r) => r.key)
            .sort(),
        ).toEqual(
          tier
            .recent()
            .map((r) => r.key)
            .sort(),
        )
      }),
      { numRuns: Number(process.env.RACE_RUNS ?? 150) },
    )
  })
})
