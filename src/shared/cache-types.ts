/**
 * Cache types shared by the core, both hosts and the renderer.
 * Plain data only: everything here crosses IPC and HTTP as JSON.
 */

/** Free, JSON-serializable metadata stored beside a cached value (prompt, quality, ...). */
export type EntryMeta = Readonly<Record<string, string | number | boolean | null>>

/** Why an entry left the cache. Only `maxItems` and `maxBytes` count as evictions. */
export type RemovalReason = 'maxItems' | 'maxBytes' | 'replaced' | 'deleted' | 'cleared'

/** How a get-or-compute request was served. */
export type CacheOutcome = 'hit' | 'miss' | 'coalesced'

/**
 * Which entry leaves first when a limit is reached: 'lru' the least recently used one;
 * 'gdsf' (GreedyDual-Size-Frequency) the one with the least generation time saved per byte,
 * weighted by its hits and aged so that old favourites do not stay forever.
 */
export const EVICTION_POLICIES = ['lru', 'gdsf'] as const
export type EvictionPolicyName = (typeof EVICTION_POLICIES)[number]

export interface CacheLimits {
  /** Most entries held at once (integer >= 1). */
  maxItems: number
  /** Most bytes held at once, values plus metadata (integer >= 1). */
  maxBytes: number
}

/** What one tier counted, in the spirit of Caffeine's CacheStats (see StatsCounter). */
export interface TierCounters {
  hits: number
  misses: number
  /** hits / (hits + misses); 0 when nothing was asked yet. Coalesced requests count in neither. */
  hitRate: number
  /** Requests that joined a computation already under way instead of starting one. */
  coalesced: number
  /** Computations that finished successfully. */
  loads: number
  /** Computations that threw. */
  loadFailures: number
  /** Computations abandoned because every caller aborted. */
  cancelled: number
  totalLoadMs: number
  /** Sum of the original computation time of every hit: time the cache saved. */
  savedMs: number
  evictions: number
  evictedBytes: number
  /** Values refused because they alone exceed maxBytes. */
  rejected: number
  /** Persistent tiers: models and index records written. */
  writes: number
  writeFailures: number
  readFailures: number
  /** Persistent tiers: entries dropped because their file was missing or corrupt. */
  dropped: number
}

/**
 * Models the user keeps: never evicted from their last tier, yet counted in its occupancy.
 * When they alone exceed a limit, nothing else stays in that tier (and the panel says so).
 */
export interface KeptTotals {
  keptItems: number
  keptBytes: number
}

/** The memory tier: its counters, occupancy and limits. */
export interface CacheStats extends TierCounters, CacheLimits, KeptTotals {
  policy: EvictionPolicyName
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
export const DEFAULT_DISK_MAX_BYTES = 5 * 1024 ** 3
/** The team's shared tier in Redis, unless MESHCACHE_SHARED_MAX_BYTES says otherwise. */
export const DEFAULT_SHARED_MAX_BYTES = 20 * 1024 ** 3
/** Memory for finished /send jobs' models when there is no data folder (MESHCACHE_HELD_MAX_BYTES). */
export const DEFAULT_HELD_MAX_BYTES = 512 * 1024 * 1024
/**
 * Uploads read and not yet parsed, in the whole host (MESHCACHE_UPLOAD_BUFFER_BYTES): two
 * 13 MB pictures beyond the one always read. Measured with 16 jobs of 4096² pictures sent at
 * once, three runs each: 395–444 MB peak at 64 MB, 393–395 MB at 32 MB.
 */
export const DEFAULT_UPLOAD_BUFFER_BYTES = 32 * 1024 * 1024

/** A persistent tier (disk, or the team's shared tier): counters, occupancy and health. */
export interface PersistentTierStats extends TierCounters, KeptTotals {
  /** False when the tier cannot be used; the app then works without it. */
  enabled: boolean
  currentItems: number
  currentBytes: number
  maxBytes: number
  /** The latest problem, in words for the user; null when all is well. */
  lastError: string | null
}

export interface DiskStats extends PersistentTierStats {
  /** True when the data was written by a newer MeshCache: it is served but never changed. */
  readOnly: boolean
  /** Index records that could not be read (skipped; their model files are kept). */
  badRecords: number
  /** Models still being read into memory after start (the background warm-up). */
  warming: boolean
  /** The background integrity check of every model file is under way. */
  scrubbing: boolean
}

export interface SharedStats extends PersistentTierStats {
  /** Whether the team's Redis answers right now. */
  connected: boolean
}

/** Where a stored entry lives. */
export type Tier = 'memory' | 'disk' | 'shared'
