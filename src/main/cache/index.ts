export type { CachedOptions } from './cached'
export { cached } from './cached'
export { CacheArgumentError, isAbortError } from './errors'
export type {
  Compute,
  ComputeControl,
  ComputeOptions,
  EvictHook,
  Loaded,
  LruCacheOptions,
  SetOptions,
} from './lru-cache'
export { byteLengthOf, LruCache } from './lru-cache'
