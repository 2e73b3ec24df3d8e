import type { TierCounters } from '../../shared/cache-types'

/**
 * The counters of one cache tier, in the spirit of Caffeine's StatsCounter: the tier records
 * events as they happen, and `snapshot()` returns an immutable copy with the derived hit rate.
 * Every tier (memory, disk, shared) counts with this one type, so a hit means the same
 * everywhere. Input/output counters (writes, read failures, dropped files) stay zero for the
 * memory tier.
 */
export class StatsCounter {
  hits = 0
  misses = 0
  /** Requests that joined a computation already under way instead of starting one. */
  coalesced = 0
  loads = 0
  loadFailures = 0
  cancelled = 0
  totalLoadMs = 0
  savedMs = 0
  evictions = 0
  evictedBytes = 0
  rejected = 0
  writes = 0
  writeFailures = 0
  readFailures = 0
  dropped = 0

  recordHit(savedMs: number): void {
    this.hits++
    this.savedMs += savedMs
  }

  recordMiss(): void {
    this.misses++
  }

  recordLoadSuccess(loadMs: number): void {
    this.loads++
    this.totalLoadMs += loadMs
  }

  recordEviction(bytes: number): void {
    this.evictions++
    this.evictedBytes += bytes
  }

  snapshot(): TierCounters {
    const lookups = this.hits + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
      coalesced: this.coalesced,
      loads: this.loads,
      loadFailures: this.loadFailures,
      cancelled: this.cancelled,
      totalLoadMs: this.totalLoadMs,
      savedMs: this.savedMs,
      evictions: this.evictions,
      evictedBytes: this.evictedBytes,
      rejected: this.rejected,
      writes: this.writes,
      writeFailures: this.writeFailures,
      readFailures: this.readFailures,
      dropped: this.dropped,
    }
  }

  reset(): void {
    Object.assign(this, new StatsCounter())
  }
}
