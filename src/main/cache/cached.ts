import type { EntryMeta } from '../../shared/cache-types'
import type { LruCache } from './lru-cache'

export interface CachedOptions<A extends unknown[]> {
  /** Maps the call's arguments to the cache key. Equal keys must mean equal results. */
  key: (...args: A) => string
  /** Optional metadata stored beside each result. */
  meta?: (...args: A) => EntryMeta
}

/**
 * Wraps an async function so its results are cached: the TypeScript form of the original
 * plan's `@cached_generation`. Concurrent calls with one key share one run (single flight),
 * failures are not cached. The wrapped function receives the flight's AbortSignal as its
 * last argument, so work stops when a caller-less flight is abandoned.
 */
export function cached<A extends unknown[], V>(
  cache: LruCache<V>,
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
