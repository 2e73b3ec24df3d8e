import { describe, expect, it } from 'vitest'
import { BoundedCache } from '../../../src/core/cache'
import { EVICTION_POLICIES } from '../../../src/shared/cache-types'

const bytes = (n: number): Uint8Array => new Uint8Array(n)

describe.each(EVICTION_POLICIES)('pinned entries under %s', (policy) => {
  it('are never evicted, yet count in both limits: the others leave first', () => {
    const evicted: string[] = []
    const cache = new BoundedCache<Uint8Array>({
      maxItems: 3,
      maxBytes: 3000,
      policy,
      onEvict: (key, _entry, reason) => evicted.push(`${key}:${reason}`),
    })
    // The cheapest, least used, oldest entry: the first victim of either policy, unless pinned.
    cache.set('liked', bytes(1000), { generationMs: 1 })
    expect(cache.pin('liked', true)).toBe(true)
    for (let i = 0; i < 10; i++) cache.set(`n${i}`, bytes(1000), { generationMs: 600_000 })
    expect(cache.has('liked')).toBe(true)
    expect(cache.size).toBe(3)
    expect(cache.currentBytes).toBe(3000)
    expect(cache.stats()).toMatchObject({ currentItems: 3, keptItems: 1, keptBytes: 1000 })
    expect(evicted).not.toContain('liked:maxItems')
    expect(cache.get('liked')).toHaveLength(1000)
    expect(cache.info('liked')).toMatchObject({ hits: 1 })
    expect(cache.keys()).toContain('liked')
  })

  it('alone over a limit: nothing else stays, and they are not evicted', () => {
    const cache = new BoundedCache<Uint8Array>({ maxItems: 10, maxBytes: 2500, policy })
    for (const key of ['a', 'b']) {
      cache.set(key, bytes(1000))
      cache.pin(key, true)
    }
    cache.setLimits({ maxBytes: 1500 })
    expect(cache.keys().sort()).toEqual(['a', 'b'])
    cache.set('c', bytes(100))
    expect(cache.has('c')).toBe(false)
    expect(cache.stats()).toMatchObject({ keptBytes: 2000, currentBytes: 2000, maxBytes: 1500 })
  })

  it('unpinned, go back under the policy as the most recently used; a clear spares pinned ones only when asked', () => {
    const cache = new BoundedCache<Uint8Array>({ maxItems: 2, maxBytes: 10_000, policy })
    cache.set('a', bytes(10), { generationMs: 5 })
    cache.pin('a', true)
    cache.set('b', bytes(10), { generationMs: 5 })
    cache.pin('a', false)
    expect(cache.isPinned('a')).toBe(false)
    expect(cache.stats()).toMatchObject({ keptItems: 0, keptBytes: 0, currentItems: 2, currentBytes: 20 })
    cache.pin('b', true)
    cache.clear({ keepPinned: true })
    expect(cache.keys()).toEqual(['b'])
    expect(cache.currentBytes).toBe(10)
    cache.clear()
    expect(cache.size).toBe(0)
    expect(cache.currentBytes).toBe(0)
  })

  it('are replaced in place and stay pinned; a delete removes them', async () => {
    const cache = new BoundedCache<Uint8Array>({ maxItems: 2, maxBytes: 10_000, policy })
    cache.set('a', bytes(10))
    cache.pin('a', true)
    cache.set('a', bytes(30))
    expect(cache.isPinned('a')).toBe(true)
    expect(cache.stats()).toMatchObject({ keptBytes: 30, currentBytes: 30 })
    const loaded = await cache.getOrCompute('a', async () => bytes(1))
    expect(loaded).toMatchObject({ outcome: 'hit' })
    expect(loaded.value).toHaveLength(30)
    expect(cache.delete('a')).toBe(true)
    expect(cache.stats()).toMatchObject({ keptItems: 0, keptBytes: 0, currentBytes: 0, currentItems: 0 })
    expect(cache.pin('a', true)).toBe(false)
  })
})
