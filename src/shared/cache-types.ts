/**
 * Cache types shared by the main process, the HTTP host and the renderer.
 * Plain data only: everything here crosses IPC and HTTP as JSON.
 */

/** Free, JSON-serializable metadata stored beside a cached value (prompt, quality, ...). */
export type EntryMeta = Readonly<Record<string, string | number | boolean | null>>

/** Why an entry left the cache. Only `maxItems` and `maxBytes` count as evictions. */
export type RemovalReason = 'maxItems' | 'maxBytes' | 'replaced' | 'deleted' | 'cleared'

/** How a get-or-compute request was served. */
export type CacheOutcome = 'hit' | 'miss' | 'coalesced'

export interface CacheLimits {
  /** Most entries held at once (integer >= 1). */
  maxItems: number
  /** Most bytes held at once, values plus metadata (integer >= 1). */
  maxBytes: number
}

/** Counters in the spirit of Caffeine's CacheStats, plus the current occupancy. */
export interface CacheStats extends CacheLimits {
  hits: number
  misses: number
  /** hits / (hits + misses); 0 when nothing was asked yet. Coalesced requests count in neither. */
  hitRate: number
  /** Requests that joined a computation already under way instead of starting one. */
  coalesced: number
  evictions: number
  evictedBytes: number
  /** Values refused because they alone exceed maxBytes. */
  rejected: number
  /** Computations that finished successfully. */
  loads: number
  /** Computations that threw. */
  loadFailures: number
  /** Computations abandoned because every caller aborted. */
  cancelled: number
  totalLoadMs: number
  /** Sum of the original computation time of every hit: time the cache saved. */
  savedMs: number
  inFlight: number
  currentItems: number
  currentBytes: number
  /** currentBytes / maxBytes, 0..1. */
  memoryUtilization: number
}

export interface CacheEntryInfo {
  key: string
  bytes: number
  createdAt: number
  lastAccessAt: number
  hits: number
  generationMs: number
  meta: EntryMeta
}

export const DEFAULT_MAX_ITEMS = 1000
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024

/** The persistent tier: models on disk that survive a restart. */
export interface DiskStats {
  /** False when the data folder cannot be used; models then live in memory only. */
  enabled: boolean
  hits: number
  misses: number
  writes: number
  writeFailures: number
  readFailures: number
  /** Entries found missing or corrupt (hash mismatch) when the tier was opened. */
  dropped: number
  evictions: number
  currentItems: number
  currentBytes: number
  maxBytes: number
  /** The latest problem, in words for the user; null when all is well. */
  lastError: string | null
}

/** Where a stored entry lives. */
export type Tier = 'memory' | 'disk'

export const DEFAULT_DISK_MAX_BYTES = 5 * 1024 ** 3
