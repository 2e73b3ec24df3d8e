import type { EntryMeta } from '../../shared/cache-types'
import type { BoundedCache } from './bounded-cache'

export interface CachedOptions<A extends unknown[]> {
  /** Maps the call's arguments to the cache key. Equal keys must mean equal results. */
  key: (...args: A) => string
  /** Optional metadata stored beside each result. */
  meta?: (...args: A) => EntryMeta
}

/**
 * Wraps an async function so its results are cached, like a `@cached` decorator: the key is
 * computed from the arguments, concurrent calls with one key share one run (single flight),
 * and failures are not cached. The wrapped function receives the flight's AbortSignal as its
 * last argument, so work stops when every caller of a run has gone.
 *
 * ```ts
 * const cache = new LruCache<Uint8Array>({ maxItems: 100 })
 * const render = cached(cache, (id: string, signal) => slowRender(id, signal), { key: (id) => id })
 * await render('a') // runs slowRender
 * await render('a') // served from the cache
 * ```
 */
export function cached<A extends unknown[], V>(
  cache: BoundedCache<V>,
  fn: (...args: [...A, AbortSignal]) => Promise<V>,
  options: CachedOptions<A>,
): (...args: A) => Promise<V> {
  return async (...args: A): Promise<V> => {
    const key = options.key(...args)
    const meta = options.meta?.(...args)
    const loaded = await cache.getOrCompute(key, (signal) => fn(...args, signal), { meta })
    return loaded.value
  }
}
