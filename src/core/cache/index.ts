export type {
  CacheOptions,
  Compute,
  ComputeControl,
  ComputeOptions,
  EvictHook,
  Loaded,
  SetOptions,
} from './bounded-cache'
/** The cache is bounded by items and bytes and evicts by a chosen policy; LRU is its default. */
export { BoundedCache, BoundedCache as LruCache, byteLengthOf } from './bounded-cache'
export type { CachedOptions } from './cached'
export { cached } from './cached'
export { CacheArgumentError } from './errors'
export type { EvictionPolicy } from './policy'
export { StatsCounter } from './stats-counter'
