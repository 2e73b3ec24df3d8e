import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { sha256 } from '../../src/core/sha256'
import { DiskTier, type DiskTierOptions } from '../../src/core/storage/disk-tier'

/** Helpers for disk-tier tests: a fresh models folder, keys, small models and their files. */
export const tempDir = (): string => join(mkdtempSync(join(tmpdir(), 'meshcache-disk-')), 'models')
export const key = (n: number): string => n.toString(16).padStart(64, '0')
export const glb = (n: number, size = 1000): Uint8Array => new Uint8Array(size).fill(n)
export const sha = sha256
export const info = { generationMs: 1234, meta: { prompt: 'p' } }
export const glbFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.glb'))
export const recordFiles = (dir: string): string[] => readdirSync(join(dir, 'records'))
/** A read's bytes as a plain Uint8Array (reads answer Node Buffers). */
export const bytesOf = (read: { bytes: Uint8Array } | undefined): Uint8Array | undefined =>
  read && new Uint8Array(read.bytes)

export async function opened(
  dir: string,
  options: Partial<DiskTierOptions> = {},
): Promise<{ tier: DiskTier; log: string[] }> {
  const log: string[] = []
  const tier = new DiskTier({ dir, snapshotDelayMs: 5, log: (m) => log.push(m), ...options })
  await tier.open()
  return { tier, log }
}

/** Three models written and flushed, as a user's data folder after some use. */
export async function used(dir: string): Promise<void> {
  const { tier } = await opened(dir)
  for (const n of [1, 2, 3]) expect(await tier.write(key(n), glb(n), info)).toBe(true)
  await tier.flush()
}
