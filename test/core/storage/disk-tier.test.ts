import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bytesOf, glb, glbFiles, info, key, opened, recordFiles, sha, tempDir, used } from '../../support/disk'

describe('DiskTier', () => {
  it('keeps models across a restart, verified by hash, in recency order', async () => {
    const dir = tempDir()
    const { tier: first } = await opened(dir)
    expect(await first.write(key(1), glb(1), info)).toBe(true)
    expect(await first.write(key(2), glb(2), info)).toBe(true)
    first.touch(key(1))
    await first.flush()
    const { tier: second } = await opened(dir)
    expect(second.stats()).toMatchObject({
      enabled: true,
      currentItems: 2,
      currentBytes: 2000,
      dropped: 0,
      readOnly: false,
    })
    const read = await second.read(key(1))
    expect(bytesOf(read)).toEqual(glb(1))
    expect(read?.record).toMatchObject({ generationMs: 1234, meta: { prompt: 'p' } })
    expect(second.recent().map((r) => r.key)).toEqual([key(1), key(2)])
  })

  it('makes a write durable before it resolves: a crash right after loses nothing', async () => {
    const dir = tempDir()
    const { tier } = await opened(dir, { snapshotDelayMs: 60_000 })
    expect(await tier.write(key(1), glb(1), info)).toBe(true)
    // No flush, no snapshot: the next start must still find it.
    expect(existsSync(join(dir, 'index.json'))).toBe(false)
    const { tier: after } = await opened(dir)
    expect(bytesOf(await after.read(key(1)))).toEqual(glb(1))
  })

  it('finds a model written after the last snapshot, and forgets one deleted after it', async () => {
    const dir = tempDir()
    const { tier } = await opened(dir, { snapshotDelayMs: 60_000 })
    await tier.write(key(1), glb(1), info)
    await tier.write(key(2), glb(2), info)
    await tier.flush()
    await tier.write(key(3), glb(3), info)
    tier.delete(key(1))
    // A crash now: no snapshot after the last two changes.
    await new Promise((resolve) => setTimeout(resolve, 20))
    const { tier: after } = await opened(dir)
    expect(
      after
        .recent()
        .map((r) => r.key)
        .sort(),
    ).toEqual([key(2), key(3)])
  })

  it('stores identical models once and removes a file only when no key uses it', async () => {
    const dir = tempDir()
    const { tier } = await opened(dir)
    await tier.write(key(1), glb(7), info)
    await tier.write(key(2), glb(7), info)
    expect(glbFiles(dir)).toHaveLength(1)
    tier.delete(key(1))
    await tier.flush()
    expect(glbFiles(dir)).toHaveLength(1)
    tier.delete(key(2))
    await tier.flush()
    expect(glbFiles(dir)).toHaveLength(0)
    expect(recordFiles(dir)).toHaveLength(0)
  })

  it('evicts the least recently used models past its byte limit, files included', async () => {
    const dir = tempDir()
    const { tier } = await opened(dir, { maxBytes: 2500 })
    await tier.write(key(1), glb(1), info)
    await tier.write(key(2), glb(2), info)
    tier.touch(key(1))
    await tier.write(key(3), glb(3), info)
    await tier.flush()
    expect(tier.recent().map((r) => r.key)).toEqual([key(3), key(1)])
    expect(tier.stats()).toMatchObject({ evictions: 1, currentBytes: 2000 })
    expect(glbFiles(dir).sort()).toEqual([sha(glb(1)), sha(glb(3))].map((f) => `${f}.glb`).sort())
  })

  it('sweeps interrupted writes away after start', async () => {
    const dir = tempDir()
    await used(dir)
    writeFileSync(join(dir, '.tmp-half-written'), 'x')
    writeFileSync(join(dir, 'records', '.tmp-record'), '{')
    const { tier } = await opened(dir)
    await tier.tidy()
    expect(tier.stats().currentItems).toBe(3)
    expect(readdirSync(dir).some((f) => f.startsWith('.tmp-'))).toBe(false)
    expect(recordFiles(dir).some((f) => f.startsWith('.tmp-'))).toBe(false)
  })

  it('drops a model whose file is missing at start, and says so', async () => {
    const dir = tempDir()
    await used(dir)
    rmSync(join(dir, `${sha(glb(2))}.glb`))
    const { tier, log } = await opened(dir)
    // Only the index is read at start; the folder is checked in the background.
    expect(tier.stats().currentItems).toBe(3)
    await tier.tidy()
    expect(tier.stats()).toMatchObject({ currentItems: 2, dropped: 1 })
    expect(log.join('\n')).toMatch(/1 model\(s\) were missing/)
  })
})
