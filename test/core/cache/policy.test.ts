import { describe, expect, it } from 'vitest'
import { BoundedCache } from '../../../src/core/cache'
import { replayPolicies } from '../../../src/core/cache/what-if'

const bytes = (n: number): Uint8Array => new Uint8Array(n)

function gdsf(maxBytes: number): BoundedCache<Uint8Array> {
  return new BoundedCache<Uint8Array>({ maxItems: 100, maxBytes, policy: 'gdsf' })
}

describe('GDSF eviction, on cases where the right victim is obvious', () => {
  it('keeps the model that took long to make over a cheap one of the same size', () => {
    const cache = gdsf(2000)
    cache.set('slow', bytes(1000), { generationMs: 600_000 })
    cache.set('quick', bytes(1000), { generationMs: 15_000 })
    cache.set('new', bytes(1000), { generationMs: 120_000 })
    expect(cache.has('slow')).toBe(true)
    expect(cache.has('quick')).toBe(false)
  })

  it('at equal cost, evicts the bigger model (less time saved per byte)', () => {
    const cache = gdsf(3000)
    cache.set('small', bytes(500), { generationMs: 60_000 })
    cache.set('big', bytes(2000), { generationMs: 60_000 })
    cache.set('next', bytes(1000), { generationMs: 60_000 })
    expect(cache.keys().sort()).toEqual(['next', 'small'])
  })

  it('counts hits: a model asked for often stays, at equal cost and size', () => {
    const cache = gdsf(2000)
    cache.set('popular', bytes(1000), { generationMs: 60_000 })
    cache.set('once', bytes(1000), { generationMs: 60_000 })
    for (let i = 0; i < 3; i++) cache.get('popular')
    cache.set('new', bytes(1000), { generationMs: 60_000 })
    expect(cache.has('popular')).toBe(true)
    expect(cache.has('once')).toBe(false)
  })

  it('ages entries: a once-costly model nobody asks for leaves after enough newer traffic', () => {
    const cache = gdsf(2000)
    cache.set('old-costly', bytes(1000), { generationMs: 100_000 })
    for (let i = 0; i < 40; i++) {
      cache.set(`k${i}`, bytes(1000), { generationMs: 20_000 })
      cache.get(`k${i}`)
    }
    expect(cache.has('old-costly')).toBe(false)
  })

  it('on a tie, evicts the least recently used', () => {
    const cache = gdsf(2000)
    cache.set('a', bytes(1000), { generationMs: 1000 })
    cache.set('b', bytes(1000), { generationMs: 1000 })
    cache.set('c', bytes(1000), { generationMs: 1000 })
    expect(cache.keys()).toEqual(['c', 'b'])
  })

  it('switches policy at run time, keeping every entry', () => {
    const cache = new BoundedCache<Uint8Array>({ maxItems: 100, maxBytes: 2000 })
    cache.set('slow', bytes(1000), { generationMs: 600_000 })
    cache.set('quick', bytes(1000), { generationMs: 1 })
    cache.setPolicy('gdsf')
    expect(cache.stats()).toMatchObject({ policy: 'gdsf', currentItems: 2 })
    // 'slow' is now the least recently used: LRU would evict it; GDSF keeps what was costly.
    cache.get('slow')
    cache.get('quick')
    cache.set('new', bytes(1000), { generationMs: 60_000 })
    expect(cache.has('slow')).toBe(true)
    expect(cache.has('quick')).toBe(false)
  })
})

describe('what each policy would have saved (the replay of the app’s own log)', () => {
  it('replays a tiny log: LRU keeps the recent cheap model, GDSF the costly one', () => {
    const log = [
      { key: 'costly', bytes: 1000, generationMs: 600_000 },
      { key: 'cheap', bytes: 1000, generationMs: 1_000 },
      { key: 'cheap', bytes: 1000, generationMs: 1_000 },
      { key: 'other', bytes: 1000, generationMs: 1_000 },
      { key: 'costly', bytes: 1000, generationMs: 600_000 },
    ]
    const [lru, gdsfOutcome] = replayPolicies(log, { maxItems: 10, maxBytes: 2000 })
    expect(lru).toEqual({ policy: 'lru', savedMs: 1_000, hitRate: 1 / 5, byteHitRate: 1000 / 5000 })
    expect(gdsfOutcome).toEqual({ policy: 'gdsf', savedMs: 601_000, hitRate: 2 / 5, byteHitRate: 2000 / 5000 })
  })

  it('reports nothing for an empty log', () => {
    expect(replayPolicies([], { maxItems: 10, maxBytes: 10 })).toEqual([
      { policy: 'lru', savedMs: 0, hitRate: 0, byteHitRate: 0 },
      { policy: 'gdsf', savedMs: 0, hitRate: 0, byteHitRate: 0 },
    ])
  })
})
