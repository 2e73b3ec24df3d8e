import { describe, expect, it, vi } from 'vitest'
import { CacheArgumentError, LruCache } from '../../../src/core/cache'
import type { RemovalReason } from '../../../src/shared/cache-types'
import { bytes, deferred, manualClock } from '../../helpers'

describe('LruCache: LRU order and limits', () => {
  it('evicts the least recently used entry when maxItems is exceeded', () => {
    const cache = new LruCache<Uint8Array>({ maxItems: 3 })
    cache.set('a', bytes(1))
    cache.set('b', bytes(1))
    cache.set('c', bytes(1))
    expect(cache.get('a')).toBeDefined() // a becomes most recent
    cache.set('d', bytes(1)) // evicts b
    expect(cache.keys()).toEqual(['d', 'a', 'c'])
    expect(cache.has('b')).toBe(false)
    expect(cache.stats().evictions).toBe(1)
  })

  it('a full cache admits a new entry and then evicts, as the hook sees it, whatever slot it reuses', () => {
    const clock = manualClock(1_000)
    const seen: string[] = []
    const cache: LruCache<Uint8Array> = new LruCache<Uint8Array>({
      maxItems: 3,
      maxBytes: 40,
      now: clock.now,
      onEvict: (key, entry, reason) =>
        seen.push(
          `${key}:${reason}:${entry.value.byteLength}:${entry.hits} size=${cache.size} bytes=${cache.currentBytes} ` +
            `has=${cache.keys().join('')}`,
        ),
    })
    cache.set('a', bytes(5))
    cache.set('b', bytes(6))
    cache.set('c', bytes(7))
    cache.get('a')
    clock.advance(10)
    cache.set('d', bytes(8), { generationMs: 50, meta: { seed: 1 } }) // evicts b, whose slot d may take
    expect(seen).toEqual(['b:maxItems:6:0 size=3 bytes=' + String(5 + 7 + 8 + 10) + ' has=dac'])
    expect(cache.keys()).toEqual(['d', 'a', 'c'])
    expect(cache.info('d')).toMatchObject({ hits: 0, createdAt: 1_010, lastAccessAt: 1_010, generationMs: 50 })
    expect(cache.peek('d')?.byteLength).toBe(8)
    expect(cache.has('b')).toBe(false)

    // Over both limits at once: the item limit's victim first, then the byte limit's.
    seen.length = 0
    cache.set('e', bytes(30))
    expect(seen.map((line) => line.split(' ')[0])).toEqual(['c:maxItems:7:0', 'a:maxBytes:5:1', 'd:maxBytes:8:0'])
    expect(cache.keys()).toEqual(['e'])
    expect(cache.currentBytes).toBe(30)

    // Warming into a full cache: the cold newcomer is itself the victim, and its history stays with it.
    cache.set('f', bytes(1))
    cache.set('g', bytes(1))
    seen.length = 0
    cache.set('h', bytes(1), { coldest: true, history: { createdAt: 7, lastAccessAt: 8, hits: 9 } })
    expect(seen.map((line) => line.split(' ')[0])).toEqual(['h:maxItems:1:9'])
    expect(cache.keys()).toEqual(['g', 'f', 'e'])
    cache.set('i', bytes(2), { history: { createdAt: 7, lastAccessAt: 8, hits: 9 } })
    expect(cache.info('i')).toMatchObject({ createdAt: 7, lastAccessAt: 8, hits: 9 })
    expect(cache.keys()).toEqual(['i', 'g', 'f'])
    // d weighed 8 bytes and 10 of metadata.
    expect(cache.stats()).toMatchObject({ evictions: 6, evictedBytes: 6 + 7 + 5 + 18 + 1 + 30 })
  })

  it('evicts by memory until the byte limit holds', () => {
    const cache = new LruCache<Uint8Array>({ maxBytes: 100 })
    cache.set('a', bytes(40))
    cache.set('b', bytes(40))
    cache.set('c', bytes(50)) // 130 > 100: a goes; 90 fits
    expect(cache.keys()).toEqual(['c', 'b'])
    expect(cache.currentBytes).toBe(90)
    const stats = cache.stats()
    expect(stats.evictions).toBe(1)
    expect(stats.evictedBytes).toBe(40)
    expect(stats.memoryUtilization).toBeCloseTo(0.9)
  })

  it('counts hits and misses and computes the hit rate', () => {
    const cache = new LruCache<Uint8Array>()
    expect(cache.stats().hitRate).toBe(0)
    cache.set('a', bytes(1))
    cache.get('a')
    cache.get('a')
    cache.get('a')
    cache.get('zz')
    const stats = cache.stats()
    expect(stats.hits).toBe(3)
    expect(stats.misses).toBe(1)
    expect(stats.hitRate).toBe(0.75)
  })

  it('peek and has neither count nor change recency', () => {
    const cache = new LruCache<Uint8Array>({ maxItems: 2 })
    cache.set('a', bytes(1))
    cache.set('b', bytes(1))
    expect(cache.peek('a')).toBeDefined()
    expect(cache.has('a')).toBe(true)
    expect(cache.peek('nope')).toBeUndefined()
    cache.set('c', bytes(1)) // a is still the LRU
    expect(cache.keys()).toEqual(['c', 'b'])
    expect(cache.stats().hits + cache.stats().misses).toBe(0)
  })

  it('holds exactly one entry with maxItems 1', () => {
    const cache = new LruCache<Uint8Array>({ maxItems: 1 })
    cache.set('a', bytes(1))
    cache.set('b', bytes(1))
    expect(cache.keys()).toEqual(['b'])
    cache.set('b', bytes(2))
    expect(cache.keys()).toEqual(['b'])
    expect(cache.currentBytes).toBe(2)
  })

  it('stores an entry exactly at the byte limit and rejects one byte more', () => {
    const cache = new LruCache<Uint8Array>({ maxBytes: 64 })
    expect(cache.set('fits', bytes(64))).toBe(true)
    expect(cache.currentBytes).toBe(64)
    expect(cache.set('big', bytes(65))).toBe(false)
    expect(cache.has('big')).toBe(false)
    expect(cache.has('fits')).toBe(true)
    expect(cache.stats().rejected).toBe(1)
  })

  it('removes the stale value when a replacement is too large', () => {
    const removed: string[] = []
    const cache = new LruCache<Uint8Array>({ maxBytes: 10, onEvict: (k, _e, r) => removed.push(`${k}:${r}`) })
    cache.set('a', bytes(5))
    expect(cache.set('a', bytes(11))).toBe(false)
    expect(cache.has('a')).toBe(false)
    expect(cache.currentBytes).toBe(0)
    expect(removed).toEqual(['a:replaced'])
  })

  it('updates the byte total when a key is replaced with another size', () => {
    const cache = new LruCache<Uint8Array>({ maxBytes: 100 })
    cache.set('a', bytes(10))
    cache.set('b', bytes(20))
    cache.set('a', bytes(70))
    expect(cache.currentBytes).toBe(90)
    expect(cache.keys()).toEqual(['a', 'b'])
    cache.set('a', bytes(5))
    expect(cache.currentBytes).toBe(25)
    expect(cache.stats().evictions).toBe(0)
  })

  it('measures sizes itself, including metadata', () => {
    const cache = new LruCache<Uint8Array>()
    cache.set('a', bytes(10), { meta: { prompt: 'héllo' } })
    const expected = 10 + Buffer.byteLength(JSON.stringify({ prompt: 'héllo' }))
    expect(cache.info('a')?.bytes).toBe(expected)
    expect(cache.currentBytes).toBe(expected)
  })

  it('clear drops everything, resets bytes and keeps the counters', () => {
    const reasons: RemovalReason[] = []
    const cache = new LruCache<Uint8Array>({ onEvict: (_k, _e, r) => reasons.push(r) })
    cache.set('a', bytes(10))
    cache.set('b', bytes(10))
    cache.get('a')
    cache.clear()
    expect(cache.size).toBe(0)
    expect(cache.currentBytes).toBe(0)
    expect(cache.keys()).toEqual([])
    expect(cache.stats().hits).toBe(1)
    expect(reasons).toEqual(['cleared', 'cleared'])
    cache.set('c', bytes(3))
    expect(cache.keys()).toEqual(['c'])
  })

  it('allows deleting while listing', () => {
    const cache = new LruCache<Uint8Array>()
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, bytes(2))
    for (const key of cache.keys()) {
      if (key !== 'b') expect(cache.delete(key)).toBe(true)
    }
    expect(cache.keys()).toEqual(['b'])
    expect(cache.currentBytes).toBe(2)
    for (const entry of cache.entries()) cache.delete(entry.key)
    expect(cache.size).toBe(0)
    expect(cache.delete('b')).toBe(false)
  })

  it('lowering a limit evicts at once; raising keeps everything', () => {
    const reasons: string[] = []
    const cache = new LruCache<Uint8Array>({ onEvict: (k, _e, r) => reasons.push(`${k}:${r}`) })
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, bytes(10))
    cache.setLimits({ maxItems: 3 })
    expect(cache.keys()).toEqual(['d', 'c', 'b'])
    cache.setLimits({ maxBytes: 15 })
    expect(cache.keys()).toEqual(['d'])
    expect(reasons).toEqual(['a:maxItems', 'b:maxBytes', 'c:maxBytes'])
    cache.setLimits({ maxItems: 100, maxBytes: 1000 })
    expect(cache.keys()).toEqual(['d'])
    expect(cache.getLimits()).toEqual({ maxItems: 100, maxBytes: 1000 })
    expect(cache.stats().evictions).toBe(3)
  })

  it('tracks per-entry bookkeeping with the injected clock', () => {
    const clock = manualClock(5_000)
    const cache = new LruCache<Uint8Array>({ now: clock.now })
    cache.set('a', bytes(4), { generationMs: 1234, meta: { prompt: 'chair', seed: 7 } })
    clock.advance(100)
    cache.get('a')
    cache.get('a')
    expect(cache.info('a')).toEqual({
      key: 'a',
      bytes: 4 + Buffer.byteLength(JSON.stringify({ prompt: 'chair', seed: 7 })),
      createdAt: 5_000,
      lastAccessAt: 5_100,
      hits: 2,
      generationMs: 1234,
      meta: { prompt: 'chair', seed: 7 },
    })
    expect(cache.stats().savedMs).toBe(2468)
    expect(cache.info('missing')).toBeUndefined()
  })

  it('gives a JSON-serializable snapshot and resets its counters', () => {
    const cache = new LruCache<Uint8Array>({ maxItems: 1 })
    cache.set('a', bytes(1))
    cache.set('b', bytes(1))
    cache.get('b')
    cache.get('a')
    const snapshot = cache.stats()
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot)
    cache.resetStats()
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, evictions: 0, evictedBytes: 0, currentItems: 1 })
  })

  it('accepts custom sizeOf but verifies its answer', () => {
    const cache = new LruCache<string>({ sizeOf: (s) => s.length, maxBytes: 5 })
    cache.set('a', 'abc')
    expect(cache.currentBytes).toBe(3)
    const broken = new LruCache<string>({ sizeOf: () => -1 })
    expect(() => broken.set('a', 'x')).toThrow(CacheArgumentError)
    expect(broken.size).toBe(0)
  })
})

describe('LruCache: invalid arguments change nothing', () => {
  it.each([
    [{ maxItems: -1 }],
    [{ maxItems: 1.5 }],
    [{ maxItems: Number.NaN }],
    [{ maxBytes: 0 }],
    [{ maxBytes: Number.POSITIVE_INFINITY }],
  ])('rejects limits %o', (limits) => {
    expect(() => new LruCache(limits)).toThrow(CacheArgumentError)
    const cache = new LruCache<Uint8Array>({ maxItems: 5, maxBytes: 50 })
    cache.set('a', bytes(1))
    expect(() => cache.setLimits(limits)).toThrow(/must be a whole number/)
    expect(cache.getLimits()).toEqual({ maxItems: 5, maxBytes: 50 })
    expect(cache.keys()).toEqual(['a'])
  })

  it('rejects empty or non-string keys everywhere', () => {
    const cache = new LruCache<Uint8Array>()
    expect(() => cache.set('', bytes(1))).toThrow(/non-empty string/)
    expect(() => cache.get('')).toThrow(CacheArgumentError)
    expect(() => cache.peek('')).toThrow(CacheArgumentError)
    expect(() => cache.has('')).toThrow(CacheArgumentError)
    expect(() => cache.delete('')).toThrow(CacheArgumentError)
    expect(() => cache.info('')).toThrow(CacheArgumentError)
    expect(() => cache.isComputing('')).toThrow(CacheArgumentError)
    expect(() => cache.get(42 as unknown as string)).toThrow(CacheArgumentError)
    expect(() => cache.getOrCompute('', async () => bytes(1))).toThrow(CacheArgumentError)
    expect(cache.stats().misses).toBe(0)
  })

  it('rejects values that are not bytes and bad options', () => {
    const cache = new LruCache<Uint8Array>()
    cache.set('a', bytes(3))
    expect(() => cache.set('a', 'text' as unknown as Uint8Array)).toThrow(/must be bytes/)
    expect(() => cache.set('b', bytes(1), { generationMs: -1 })).toThrow(/generationMs/)
    expect(() => cache.set('b', bytes(1), { meta: [] as unknown as Record<string, string> })).toThrow(/plain object/)
    expect(() => cache.set('b', bytes(1), { meta: { x: { nested: 1 } } as unknown as Record<string, string> })).toThrow(
      /metadata field "x"/,
    )
    expect(() => cache.getOrCompute('b', 'nope' as unknown as () => Promise<Uint8Array>)).toThrow(/function/)
    expect(cache.keys()).toEqual(['a'])
    expect(cache.currentBytes).toBe(3)
    expect(cache.set('ab', new ArrayBuffer(4) as unknown as Uint8Array)).toBe(true)
  })
})

describe('LruCache: getOrCompute', () => {
  it('computes once, then hits, and records the measured compute time', async () => {
    let time = 0
    const cache = new LruCache<Uint8Array>({ monotonicNow: () => time })
    const compute = vi.fn(async () => {
      time += 250
      return bytes(8)
    })
    const first = await cache.getOrCompute('k', compute, { meta: { prompt: 'p' } })
    expect(first).toMatchObject({ outcome: 'miss', generationMs: 250 })
    const second = await cache.getOrCompute('k', compute)
    expect(second.outcome).toBe('hit')
    expect(second.generationMs).toBe(250)
    expect(second.value).toBe(first.value)
    expect(compute).toHaveBeenCalledTimes(1)
    expect(cache.info('k')?.meta).toEqual({ prompt: 'p' })
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, loads: 1, totalLoadMs: 250, savedMs: 250, inFlight: 0 })
  })

  it('runs one computation for concurrent callers and shares its result', async () => {
    const cache = new LruCache<Uint8Array>()
    const gate = deferred<Uint8Array>()
    const compute = vi.fn(() => gate.promise)
    const calls = Array.from({ length: 5 }, () => cache.getOrCompute('k', compute))
    expect(cache.stats().inFlight).toBe(1)
    expect(cache.isComputing('k')).toBe(true)
    const value = bytes(3)
    gate.resolve(value)
    const results = await Promise.all(calls)
    expect(compute).toHaveBeenCalledTimes(1)
    expect(results.map((r) => r.outcome)).toEqual(['miss', 'coalesced', 'coalesced', 'coalesced', 'coalesced'])
    for (const r of results) expect(r.value).toBe(value)
    expect(cache.stats()).toMatchObject({ misses: 1, coalesced: 4, loads: 1, inFlight: 0, currentItems: 1 })
  })

  it('does not cache a failure and delivers it to every caller', async () => {
    const cache = new LruCache<Uint8Array>()
    const gate = deferred<Uint8Array>()
    const calls = [cache.getOrCompute('k', () => gate.promise), cache.getOrCompute('k', () => gate.promise)]
    gate.reject(new Error('GPU on fire'))
    for (const call of calls) await expect(call).rejects.toThrow('GPU on fire')
    expect(cache.has('k')).toBe(false)
    expect(cache.stats()).toMatchObject({ loadFailures: 1, loads: 0, inFlight: 0 })
    const retry = await cache.getOrCompute('k', async () => bytes(1))
    expect(retry.outcome).toBe('miss')
  })

  it('fails the load when the computed value is not bytes', async () => {
    const cache = new LruCache<Uint8Array>()
    await expect(cache.getOrCompute('k', async () => 'oops' as unknown as Uint8Array)).rejects.toThrow(/bytes/)
    expect(cache.stats()).toMatchObject({ loadFailures: 1, loads: 0, currentItems: 0 })
  })

  it('returns a value too large to store without caching it', async () => {
    const cache = new LruCache<Uint8Array>({ maxBytes: 4 })
    const result = await cache.getOrCompute('k', async () => bytes(10))
    expect(result.value.byteLength).toBe(10)
    expect(cache.has('k')).toBe(false)
    expect(cache.stats()).toMatchObject({ rejected: 1, loads: 1 })
  })

  it('lets one caller abort while the others still get the result', async () => {
    const cache = new LruCache<Uint8Array>()
    const gate = deferred<Uint8Array>()
    let computeSignal: AbortSignal | undefined
    const compute = (signal: AbortSignal): Promise<Uint8Array> => {
      computeSignal = signal
      return gate.promise
    }
    const leaving = new AbortController()
    const first = cache.getOrCompute('k', compute, { signal: leaving.signal })
    const second = cache.getOrCompute('k', compute)
    leaving.abort()
    await expect(first).rejects.toThrow(/abort/i)
    expect(computeSignal?.aborted).toBe(false)
    gate.resolve(bytes(2))
    await expect(second).resolves.toMatchObject({ outcome: 'coalesced' })
    expect(cache.has('k')).toBe(true)
  })

  it('aborts the computation when every caller has gone, and caches nothing', async () => {
    const cache = new LruCache<Uint8Array>()
    let computeSignal: AbortSignal | undefined
    const compute = (signal: AbortSignal): Promise<Uint8Array> =>
      new Promise((_resolve, reject) => {
        computeSignal = signal
        signal.addEventListener('abort', () => reject(signal.reason))
      })
    const a = new AbortController()
    const b = new AbortController()
    const calls = [
      cache.getOrCompute('k', compute, { signal: a.signal }),
      cache.getOrCompute('k', compute, { signal: b.signal }),
    ]
    await Promise.resolve()
    a.abort()
    expect(computeSignal?.aborted).toBe(false)
    b.abort()
    expect(computeSignal?.aborted).toBe(true)
    for (const call of calls) await expect(call).rejects.toThrow()
    expect(cache.stats().inFlight).toBe(0)
    await new Promise((r) => setTimeout(r, 0))
    expect(cache.stats()).toMatchObject({ cancelled: 1, loadFailures: 0, currentItems: 0 })
  })

  it('discards the result of an abandoned computation that ignores its signal', async () => {
    const cache = new LruCache<Uint8Array>()
    const gate = deferred<Uint8Array>()
    const controller = new AbortController()
    const call = cache.getOrCompute('k', () => gate.promise, { signal: controller.signal })
    controller.abort()
    await expect(call).rejects.toThrow()
    // A new caller after the abandonment starts afresh instead of joining the doomed flight.
    const fresh = cache.getOrCompute('k', async () => bytes(9))
    gate.resolve(bytes(1))
    await expect(fresh).resolves.toMatchObject({ outcome: 'miss' })
    await new Promise((r) => setTimeout(r, 0))
    expect(cache.peek('k')?.byteLength).toBe(9)
    expect(cache.stats()).toMatchObject({ cancelled: 1, loads: 1, misses: 2 })
  })

  it('rejects at once for an already aborted signal and starts nothing', async () => {
    const cache = new LruCache<Uint8Array>()
    const compute = vi.fn(async () => bytes(1))
    await expect(cache.getOrCompute('k', compute, { signal: AbortSignal.abort() })).rejects.toThrow()
    expect(compute).not.toHaveBeenCalled()
    expect(cache.stats()).toMatchObject({ misses: 0, inFlight: 0 })
  })

  it('a synchronous throw in compute is a load failure, not a crash', async () => {
    const cache = new LruCache<Uint8Array>()
    const compute = (): Promise<Uint8Array> => {
      throw new Error('sync boom')
    }
    await expect(cache.getOrCompute('k', compute)).rejects.toThrow('sync boom')
    expect(cache.stats().loadFailures).toBe(1)
  })
})

describe('LruCache: metadata weight', () => {
  it('empty metadata weighs nothing', () => {
    const cache = new LruCache<Uint8Array>()
    cache.set('a', bytes(5), { meta: {} })
    cache.set('b', bytes(5))
    expect(cache.info('a')?.bytes).toBe(5)
    expect(cache.info('b')?.bytes).toBe(5)
  })
})

describe('LruCache: reported generation time', () => {
  it('stores the time a computation reports (a value read back from disk), and bills the measured time', async () => {
    let time = 0
    const cache = new LruCache<Uint8Array>({ monotonicNow: () => time })
    const loaded = await cache.getOrCompute('k', async (_signal, control) => {
      time += 5
      control.reportGenerationMs(120_000)
      return bytes(1)
    })
    expect(loaded.generationMs).toBe(120_000)
    expect(cache.info('k')?.generationMs).toBe(120_000)
    expect(cache.stats().totalLoadMs).toBe(5)
    await cache.getOrCompute('k', async () => bytes(1))
    expect(cache.stats().savedMs).toBe(120_000)
  })

  it('stores metadata a computation reports instead of the one given up front', async () => {
    const cache = new LruCache<Uint8Array>()
    await cache.getOrCompute(
      'k',
      async (_signal, control) => {
        control.reportMeta({ prompt: 'from disk' })
        return bytes(1)
      },
      { meta: { prompt: 'up front' } },
    )
    expect(cache.info('k')?.meta).toEqual({ prompt: 'from disk' })
    await expect(
      cache.getOrCompute('j', async (_signal, control) => {
        control.reportMeta({ bad: { nested: true } } as unknown as Record<string, string>)
        return bytes(1)
      }),
    ).rejects.toThrow(/metadata field/)
    expect(cache.has('j')).toBe(false)
  })
})
