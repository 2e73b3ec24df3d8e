import { describe, expect, it, vi } from 'vitest'
import { cached, LruCache } from '../../../src/core/cache'

describe('cached()', () => {
  it('caches results by the key function and stores metadata', async () => {
    const cache = new LruCache<Uint8Array>()
    const generate = vi.fn(async (_prompt: string, seed: number, _signal: AbortSignal) => new Uint8Array([seed]))
    const cachedGenerate = cached(cache, generate, {
      key: (prompt, seed) => `${prompt}|${seed}`,
      meta: (prompt, seed) => ({ prompt, seed }),
    })
    expect(Array.from(await cachedGenerate('chair', 1))).toEqual([1])
    expect(Array.from(await cachedGenerate('chair', 1))).toEqual([1])
    expect(Array.from(await cachedGenerate('chair', 2))).toEqual([2])
    expect(generate).toHaveBeenCalledTimes(2)
    expect(generate.mock.calls[0]?.[2]).toBeInstanceOf(AbortSignal)
    expect(cache.info('chair|1')?.meta).toEqual({ prompt: 'chair', seed: 1 })
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 })
  })

  it('does not cache failures', async () => {
    const cache = new LruCache<Uint8Array>()
    let attempts = 0
    const flaky = cached(
      cache,
      async (_x: string, _signal: AbortSignal) => {
        attempts++
        if (attempts === 1) throw new Error('first try fails')
        return new Uint8Array(1)
      },
      { key: (x) => x },
    )
    await expect(flaky('a')).rejects.toThrow('first try fails')
    await expect(flaky('a')).resolves.toBeInstanceOf(Uint8Array)
    expect(attempts).toBe(2)
  })
})
