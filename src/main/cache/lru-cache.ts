import type {
  CacheEntryInfo,
  CacheLimits,
  CacheOutcome,
  CacheStats,
  EntryMeta,
  RemovalReason,
} from '../../shared/cache-types'
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_ITEMS } from '../../shared/cache-types'
import { EntryTable, NONE } from './entry-table'
import { abortReason, CacheArgumentError } from './errors'
import { turnClock } from './turn-clock'

export type EvictHook<V> = (key: string, entry: CacheEntryInfo & { value: V }, reason: RemovalReason) => void

export interface LruCacheOptions<V> {
  maxItems?: number
  maxBytes?: number
  /**
   * Measures a value's size in bytes. The cache calls it itself on every write: sizes are
   * never taken from the caller of `set`. The default accepts only byte arrays.
   */
  sizeOf?: (value: V) => number
  /** Called after an entry has left the cache, whatever the reason. */
  onEvict?: EvictHook<V>
  /**
   * Wall clock for createdAt / lastAccessAt (ms). Injectable so tests control time; the
   * default reads Date.now() once per synchronous job (see turn-clock.ts).
   */
  now?: () => number
  /** Monotonic clock for measuring compute time (ms). */
  monotonicNow?: () => number
}

export interface SetOptions {
  meta?: EntryMeta
  /** How long the value took to produce; hits add it to `savedMs`. */
  generationMs?: number
}

export interface ComputeOptions {
  /** Aborts this caller's wait. The computation itself stops only when every caller has gone. */
  signal?: AbortSignal
  meta?: EntryMeta
}

/** Given to a computation: lets it say how long the value originally took (e.g. one read back from disk). */
export interface ComputeControl {
  /** Stored as the entry's generationMs instead of the measured time (which still counts in totalLoadMs). */
  reportGenerationMs(ms: number): void
  /** Metadata known only once the value is (e.g. read back with it); replaces `options.meta`. */
  reportMeta(meta: EntryMeta): void
}

export type Compute<V> = (signal: AbortSignal, control: ComputeControl) => Promise<V>

export interface Loaded<V> {
  value: V
  outcome: CacheOutcome
  /** Time the value originally took to compute (for a hit: the stored figure). */
  generationMs: number
}

/** A computation under way for one key, shared by every caller that asks for it meanwhile. */
interface Flight<V> {
  readonly promise: Promise<{ value: V; generationMs: number }>
  readonly controller: AbortController
  waiters: number
}

const EMPTY_META: EntryMeta = Object.freeze({})

/** Default `sizeOf`: a value must be bytes, and its size is its byte length. */
export function byteLengthOf(value: unknown): number {
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return value.byteLength
  throw new CacheArgumentError('cache values must be bytes (Uint8Array, Buffer or ArrayBuffer)')
}

function metaBytes(meta: EntryMeta): number {
  return meta === EMPTY_META ? 0 : Buffer.byteLength(JSON.stringify(meta))
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CacheArgumentError('cache key must be a non-empty string')
  }
}

function checkLimit(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new CacheArgumentError(`${name} must be a whole number of at least 1, got ${String(value)}`)
  }
  return value
}

function checkMeta(meta: unknown): EntryMeta {
  if (meta === undefined || meta === EMPTY_META) return EMPTY_META
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new CacheArgumentError('entry metadata must be a plain object')
  }
  for (const [field, v] of Object.entries(meta)) {
    const t = typeof v
    if (v !== null && t !== 'string' && t !== 'boolean' && !(t === 'number' && Number.isFinite(v))) {
      throw new CacheArgumentError(`metadata field "${field}" must be a string, finite number, boolean or null`)
    }
  }
  // Empty metadata weighs nothing, so that sizes are the same whether or not it was passed.
  return Object.keys(meta).length === 0 ? EMPTY_META : Object.freeze({ ...meta })
}

function checkDuration(ms: unknown): number {
  if (ms === undefined) return 0
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new CacheArgumentError('generationMs must be a finite number >= 0')
  }
  return ms
}

/**
 * A least-recently-used cache bounded both by entry count and by bytes, with statistics and
 * single-flight get-or-compute. Node runs it on one thread; the invariants hold between any
 * two awaits because every mutation below is synchronous.
 */
export class LruCache<V> {
  private readonly table = new EntryTable<V>()
  private readonly flights = new Map<string, Flight<V>>()
  private bytes = 0
  private limits: CacheLimits
  private readonly sizeOf: (value: V) => number
  private readonly onEvict: EvictHook<V> | undefined
  private readonly now: () => number
  private readonly monotonicNow: () => number

  private hits = 0
  private misses = 0
  private coalesced = 0
  private evictions = 0
  private evictedBytes = 0
  private rejected = 0
  private loads = 0
  private loadFailures = 0
  private cancelled = 0
  private totalLoadMs = 0
  private savedMs = 0

  constructor(options: LruCacheOptions<V> = {}) {
    this.limits = {
      maxItems: checkLimit('maxItems', options.maxItems ?? DEFAULT_MAX_ITEMS),
      maxBytes: checkLimit('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES),
    }
    this.sizeOf = options.sizeOf ?? byteLengthOf
    this.onEvict = options.onEvict
    this.now = options.now ?? turnClock()
    this.monotonicNow = options.monotonicNow ?? (() => performance.now())
  }

  get size(): number {
    return this.table.size
  }

  get currentBytes(): number {
    return this.bytes
  }

  /** Returns the value and marks it most recently used; counts a hit or a miss. */
  get(key: string): V | undefined {
    checkKey(key)
    const slot = this.table.slotOf(key)
    if (slot === NONE) {
      this.misses++
      return undefined
    }
    this.recordHit(slot)
    return this.table.value(slot)
  }

  /** Returns the value without touching recency or statistics. */
  peek(key: string): V | undefined {
    checkKey(key)
    const slot = this.table.slotOf(key)
    return slot === NONE ? undefined : this.table.value(slot)
  }

  has(key: string): boolean {
    checkKey(key)
    return this.table.slotOf(key) !== NONE
  }

  /** The bookkeeping of one entry, without touching recency or statistics. */
  info(key: string): CacheEntryInfo | undefined {
    checkKey(key)
    const slot = this.table.slotOf(key)
    return slot === NONE ? undefined : this.table.info(slot)
  }

  /**
   * Stores a value as most recently used, then evicts until both limits hold.
   * Returns false when the value alone exceeds maxBytes: it is then not stored, counted as
   * rejected, and any older value under the key is removed (it would be stale).
   */
  set(key: string, value: V, options: SetOptions = {}): boolean {
    checkKey(key)
    const meta = checkMeta(options.meta)
    const generationMs = checkDuration(options.generationMs)
    const bytes = this.measure(value) + metaBytes(meta)

    const previous = this.table.slotOf(key)
    if (previous !== NONE) this.remove(previous, 'replaced')
    if (bytes > this.limits.maxBytes) {
      this.rejected++
      return false
    }
    this.table.insert(key, value, bytes, meta, generationMs, this.now())
    this.bytes += bytes
    this.enforceLimits()
    return true
  }

  delete(key: string): boolean {
    checkKey(key)
    const slot = this.table.slotOf(key)
    if (slot === NONE) return false
    this.remove(slot, 'deleted')
    return true
  }

  /** Drops every entry. Computations under way go on and store their result when done. */
  clear(): void {
    const removed = this.onEvict ? this.table.slotsFromNewest().map((slot) => this.removal(slot)) : []
    this.table.clear()
    this.bytes = 0
    for (const entry of removed) this.onEvict?.(entry.key, entry, 'cleared')
  }

  getLimits(): CacheLimits {
    return { ...this.limits }
  }

  /** Changes the limits at run time. Lowering one evicts at once; raising keeps everything. */
  setLimits(next: Partial<CacheLimits>): CacheLimits {
    const maxItems = next.maxItems === undefined ? this.limits.maxItems : checkLimit('maxItems', next.maxItems)
    const maxBytes = next.maxBytes === undefined ? this.limits.maxBytes : checkLimit('maxBytes', next.maxBytes)
    this.limits = { maxItems, maxBytes }
    this.enforceLimits()
    return this.getLimits()
  }

  /** Keys from most to least recently used (a snapshot: safe to delete while walking it). */
  keys(): string[] {
    return this.table.slotsFromNewest().map((slot) => this.table.key(slot))
  }

  /** Entry bookkeeping from most to least recently used (a snapshot). */
  entries(): CacheEntryInfo[] {
    return this.table.slotsFromNewest().map((slot) => this.table.info(slot))
  }

  stats(): CacheStats {
    const lookups = this.hits + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
      coalesced: this.coalesced,
      evictions: this.evictions,
      evictedBytes: this.evictedBytes,
      rejected: this.rejected,
      loads: this.loads,
      loadFailures: this.loadFailures,
      cancelled: this.cancelled,
      totalLoadMs: this.totalLoadMs,
      savedMs: this.savedMs,
      inFlight: this.flights.size,
      currentItems: this.table.size,
      currentBytes: this.bytes,
      maxItems: this.limits.maxItems,
      maxBytes: this.limits.maxBytes,
      memoryUtilization: this.bytes / this.limits.maxBytes,
    }
  }

  /** Zeroes the counters; the contents and the limits stay. */
  resetStats(): void {
    this.hits = 0
    this.misses = 0
    this.coalesced = 0
    this.evictions = 0
    this.evictedBytes = 0
    this.rejected = 0
    this.loads = 0
    this.loadFailures = 0
    this.cancelled = 0
    this.totalLoadMs = 0
    this.savedMs = 0
  }

  /** True while a computation for the key is under way. */
  isComputing(key: string): boolean {
    checkKey(key)
    return this.flights.has(key)
  }

  /**
   * Single-flight get-or-compute. A hit returns at once. Otherwise the first caller starts
   * `compute`, and every caller that arrives before it settles joins that same computation.
   * A result is stored with its measured compute time; a failure is not stored and reaches
   * every caller. Each caller may abort through its own signal; the computation's signal
   * aborts only when no caller is left, and its result is then discarded.
   */
  getOrCompute(key: string, compute: Compute<V>, options: ComputeOptions = {}): Promise<Loaded<V>> {
    checkKey(key)
    if (typeof compute !== 'function') throw new CacheArgumentError('compute must be a function')
    const meta = checkMeta(options.meta)
    const { signal } = options
    if (signal?.aborted) return Promise.reject(abortReason(signal))

    const slot = this.table.slotOf(key)
    if (slot !== NONE) {
      this.recordHit(slot)
      const { table } = this
      return Promise.resolve({ value: table.value(slot), outcome: 'hit', generationMs: table.generationMs(slot) })
    }
    let flight = this.flights.get(key)
    let outcome: CacheOutcome
    if (flight === undefined) {
      this.misses++
      flight = this.startFlight(key, compute, meta)
      outcome = 'miss'
    } else {
      this.coalesced++
      outcome = 'coalesced'
    }
    return this.wait(key, flight, outcome, signal)
  }

  private startFlight(key: string, compute: Compute<V>, meta: EntryMeta): Flight<V> {
    const controller = new AbortController()
    const started = this.monotonicNow()
    let reported: number | undefined
    let reportedMeta: EntryMeta | undefined
    const control: ComputeControl = {
      reportGenerationMs: (ms) => {
        reported = checkDuration(ms)
      },
      reportMeta: (value) => {
        reportedMeta = checkMeta(value)
      },
    }
    const promise = Promise.resolve()
      .then(() => compute(controller.signal, control))
      .then(
        (value) => {
          this.endFlight(key, flight)
          if (controller.signal.aborted) {
            this.cancelled++
            throw abortReason(controller.signal)
          }
          const measuredMs = Math.max(0, this.monotonicNow() - started)
          const generationMs = reported ?? measuredMs
          try {
            this.set(key, value, { meta: reportedMeta ?? meta, generationMs })
          } catch (error) {
            // A value the cache cannot measure (not bytes) fails the load for every caller.
            this.loadFailures++
            throw error
          }
          this.loads++
          this.totalLoadMs += measuredMs
          return { value, generationMs }
        },
        (error: unknown) => {
          this.endFlight(key, flight)
          if (controller.signal.aborted) this.cancelled++
          else this.loadFailures++
          throw error
        },
      )
    // Waiters attach their own handlers; this one keeps an abandoned flight from being unhandled.
    promise.catch(() => undefined)
    const flight: Flight<V> = { promise, controller, waiters: 0 }
    this.flights.set(key, flight)
    return flight
  }

  private endFlight(key: string, flight: Flight<V>): void {
    // A flight abandoned by all its callers was already replaced or removed.
    if (this.flights.get(key) === flight) this.flights.delete(key)
  }

  private wait(
    key: string,
    flight: Flight<V>,
    outcome: CacheOutcome,
    signal: AbortSignal | undefined,
  ): Promise<Loaded<V>> {
    flight.waiters++
    const settle = ({ value, generationMs }: { value: V; generationMs: number }): Loaded<V> => ({
      value,
      outcome,
      generationMs,
    })
    if (signal === undefined) return flight.promise.then(settle)
    return new Promise<Loaded<V>>((resolve, reject) => {
      const onAbort = (): void => {
        reject(abortReason(signal))
        flight.waiters--
        if (flight.waiters === 0) {
          // Nobody wants this result any more: stop the work and let a new caller start afresh.
          this.endFlight(key, flight)
          flight.controller.abort(abortReason(signal))
        }
      }
      signal.addEventListener('abort', onAbort, { once: true })
      flight.promise.then(
        (loaded) => {
          signal.removeEventListener('abort', onAbort)
          resolve(settle(loaded))
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      )
    })
  }

  private measure(value: V): number {
    const bytes = this.sizeOf(value)
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new CacheArgumentError(`sizeOf must return a whole number of bytes >= 0, got ${String(bytes)}`)
    }
    return bytes
  }

  private recordHit(slot: number): void {
    this.hits++
    this.savedMs += this.table.generationMs(slot)
    this.table.touch(slot, this.now())
  }

  /**
   * The eviction seam: the one place that picks a victim. LRU takes the least recently used
   * slot; a cost- or frequency-aware policy (GDSF, W-TinyLFU) would replace this method.
   */
  private victim(): number {
    return this.table.tail
  }

  private enforceLimits(): void {
    const { maxItems, maxBytes } = this.limits
    while (this.table.size > maxItems || this.bytes > maxBytes) {
      const slot = this.victim()
      if (slot === NONE) return
      const reason: RemovalReason = this.table.size > maxItems ? 'maxItems' : 'maxBytes'
      this.evictions++
      this.evictedBytes += this.table.bytes(slot)
      this.remove(slot, reason)
    }
  }

  private remove(slot: number, reason: RemovalReason): void {
    const entry = this.onEvict ? this.removal(slot) : undefined
    this.bytes -= this.table.bytes(slot)
    this.table.remove(slot)
    if (entry) this.onEvict?.(entry.key, entry, reason)
  }

  /** What the onEvict hook receives: the entry's bookkeeping and its value. */
  private removal(slot: number): CacheEntryInfo & { value: V } {
    return { ...this.table.info(slot), value: this.table.value(slot) }
  }
}
