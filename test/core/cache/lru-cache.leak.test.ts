import { describe, expect, it } from 'vitest'
import { LruCache } from '../../../src/core/cache'

function collect(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc (vitest.config.ts passes it to the test workers)')
  gc()
  gc()
  return process.memoryUsage()
}

describe('LruCache memory', () => {
  it('keeps heap and arrayBuffers bounded over 100 000 set-and-evict cycles of 64 KiB', () => {
    const CHUNK = 64 * 1024
    const HELD = 32
    let evicted = 0
    const cache = new LruCache<Uint8Array>({ maxItems: HELD, onEvict: () => evicted++ })
    // Warm up so that lazily created structures are not mistaken for growth.
    for (let i = 0; i < 1_000; i++) cache.set(`warm-${i}`, Buffer.allocUnsafe(CHUNK))
    const before = collect()
    for (let i = 0; i < 100_000; i++) cache.set(`key-${i}`, Buffer.allocUnsafe(CHUNK))
    const after = collect()

    expect(cache.size).toBe(HELD)
    expect(evicted).toBe(101_000 - HELD)
    // 6.5 GB went through the cache; what stays is the held entries plus noise.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(8 * 1024 * 1024)
    expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * 1024 * 1024)
    expect(after.arrayBuffers).toBeLessThan(HELD * CHUNK + 32 * 1024 * 1024)
  })
})
