import type {
  CacheEntryInfo,
  CacheLimits,
  CacheOutcome,
  CacheStats,
  EntryMeta,
  EvictionPolicyName,
  RemovalReason,
} from '../../shared/cache-types'
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_ITEMS, EVICTION_POLICIES } from '../../shared/cache-types'
import { EntryTable, NONE } from './entry-table'
import { abortReason, CacheArgumentError } from './errors'
import { createPolicy, type EvictionPolicy } from './policy'
import { StatsCounter } from './stats-counter'
import { turnClock } from './turn-clock'

export type EvictHook<V> = (key: string, entry: CacheEntryInfo & { value: V }, reason: RemovalReason) => void

export interface CacheOptions<V> {
  maxItems?: number
  maxBytes?: number
  /** Which entry leaves first at a limit: 'lru' (the default) or cost-aware 'gdsf'. */
  policy?: EvictionPolicyName
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
  /**
   * Insert a new entry as the least recently used one (warming from a slower tier): it then
   * never pushes out an entry that is in use.
   */
  coldest?: boolean
  /** What a slower tier remembers of the entry (warming): its times and hits carry over. */
  history?: Pick<CacheEntryInfo, 'createdAt' | 'lastAccessAt' | 'hits'>
  /** Pin a new entry before the limits are enforced (see `pin`), so it can never be the victim. */
  pinned?: boolean
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
  /** Where the value came from (e.g. the tier it was read from); every caller of the flight sees it. */
  reportOrigin(origin: string): void
}

export type Compute<V> = (signal: AbortSignal, control: ComputeControl) => Promise<V>

export interface Loaded<V> {
  value: V
  outcome: CacheOutcome
  /** Time the value originally took to compute (for a hit: the stored figure). */
  generationMs: number
  /** What the computation reported with `reportOrigin`; undefined for a hit. */
  origin?: string
}

interface Computed<V> {
  value: V
  generationMs: number
  origin?: string
}

/**
 * A pinned entry (a model the user keeps): out of the entry table, so no policy can ever
 * choose it, and still counted in both limits.
 */
interface PinnedEntry<V> {
  value: V
  info: CacheEntryInfo
}

/** A computation under way for one key, shared by every caller that asks for it meanwhile. */
interface Flight<V> {
  readonly promise: Promise<Computed<V>>
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
  // Most sets pass none: answered by a function small enough for V8 to inline into set(). The
  // loop in checkedMeta kept the whole check out of line: a call on every set, measured at
  // 71 against 67 ms per 400,000 evicting sets.
  return meta === undefined || meta === EMPTY_META ? EMPTY_META : checkedMeta(meta)
}

function checkedMeta(meta: unknown): EntryMeta {
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

function checkPolicy(policy: unknown): EvictionPolicyName {
  if (!(EVICTION_POLICIES as readonly unknown[]).includes(policy)) {
    throw new CacheArgumentError(`policy must be one of ${EVICTION_POLICIES.join(', ')}, got ${String(policy)}`)
  }
  return policy as EvictionPolicyName
}

function checkDuration(ms: unknown): number {
  if (ms === undefined) return 0
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new CacheArgumentError('generationMs must be a finite number >= 0')
  }
  return ms
}

/**
 * A cache bounded both by entry count and by bytes, with statistics and single-flight
 * get-or-compute. Least recently used entries leave first by default; the eviction policy
 * is one small seam (policy.ts), so a cost-aware one can take its place. Node runs it on one
 * thread; the invariants hold between any two awaits because every mutation is synchronous.
 */
export class BoundedCache<V> {
  private readonly table = new EntryTable<V>()
  private policy: EvictionPolicy
  private readonly flights = new Map<string, Flight<V>>()
  /** Entries no limit evicts; looked up only when the table misses, so hits cost nothing more. */
  private readonly pinned = new Map<string, PinnedEntry<V>>()
  private pinnedBytes = 0
  private bytes = 0
  private limits: CacheLimits
  private readonly sizeOf: (value: V) => number
  private readonly onEvict: EvictHook<V> | undefined
  private readonly now: () => number
  private readonly monotonicNow: () => number
  /** What this cache counted; persistent tiers built on it record their I/O here too. */
  readonly counter = new StatsCounter()

  constructor(options: CacheOptions<V> = {}) {
    this.limits = {
      maxItems: checkLimit('maxItems', options.maxItems ?? DEFAULT_MAX_ITEMS),
      maxBytes: checkLimit('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES),
    }
    this.policy = createPolicy(checkPolicy(options.policy ?? 'lru'), this.table)
    this.sizeOf = options.sizeOf ?? byteLengthOf
    this.onEvict = options.onEvict
    this.now = options.now ?? turnClock()
    this.monotonicNow = options.monotonicNow ?? (() => performance.now())
  }

  get size(): number {
    return this.table.size + this.pinned.size
  }

  get currentBytes(): number {
    return this.bytes
  }

  /** Returns the value and marks it most recently used; counts a hit or a miss. */
  get(key: string): V | undefined {
    checkKey(key)
    const slot = this.table.slotOf(key)
    if (slot === undefined) {
      // The common miss reads one size and counts: pinned entries are looked up only when there are some.
      if (this.pinned.size === 0) {
        this.counter.recordMiss()
        return undefined
      }
      const pinned = this.pinnedUse(key)
      if (pinned) this.counter.recordHit(pinned.info.generationMs)
      else this.counter.recordMiss()
      return pinned?.value
    }
    this.recordHit(slot)
    return this.table.value(slot)
  }

  /**
   * Records a use counted elsewhere (e.g. a hit in a faster tier): recency, the entry's own
   * hit count and its eviction priority change, the statistics do not. False when absent.
   */
  touch(key: string): boolean {
    checkKey(key)
    const slot = this.table.slotOf(key)
    if (slot === undefined) return this.pinnedUse(key) !== undefined
    this.table.touch(slot, this.now())
    this.policy.hit(slot)
    return true
  }

  /** Returns the value without touching recency or statistics. */
  peek(key: string): V | undefined {
    checkKey(key)
    const slot = this.table.slotOf(key)
    return slot === undefined ? this.pinned.get(key)?.value : this.table.value(slot)
  }

  has(key: string): boolean {
    checkKey(key)
    return this.table.slotOf(key) !== undefined || this.pinned.has(key)
  }

  /** Whether the entry is pinned (never evicted). */
  isPinned(key: string): boolean {
    checkKey(key)
    return this.pinned.has(key)
  }

  /** The bookkeeping of one entry, without touching recency or statistics. */
  info(key: string): CacheEntryInfo | undefined {
    checkKey(key)
    const slot = this.table.slotOf(key)
    if (slot !== undefined) return this.table.info(slot)
    const pinned = this.pinned.get(key)
    return pinned && { ...pinned.info }
  }

  /**
   * Pins an entry (no policy ever evicts it; it still counts in both limits, so the others
   * leave first, and when pinned entries alone exceed a limit nothing else stays) or lets it
   * go back under the policy as the most recently used. False when the key is absent.
   */
  pin(key: string, pinned: boolean): boolean {
    checkKey(key)
    const slot = this.table.slotOf(key)
    if (pinned) {
      if (slot === undefined) return this.pinned.has(key)
      this.policy.removed(slot)
      this.pinSlot(key, slot)
      return true
    }
    const entry = this.pinned.get(key)
    if (!entry) return slot !== undefined
    this.unpinned(key, entry)
    const { info } = entry
    const inserted = this.table.insert(key, entry.value, info.bytes, info.meta, info.generationMs, this.now())
    this.table.restore(inserted, { ...info, lastAccessAt: this.now() })
    this.policy.admitted(inserted)
    this.enforceLimits()
    return true
  }

  /** Pinned entries and their bytes (part of `size` and `currentBytes`). */
  pinnedTotals(): { items: number; bytes: number } {
    return { items: this.pinned.size, bytes: this.pinnedBytes }
  }

  /**
   * Stores a value as most recently used, then evicts until both limits hold. A key already
   * present is updated in place (the old value is reported to onEvict as 'replaced').
   * Returns false when the value alone exceeds maxBytes: it is then not stored, counted as
   * rejected, and any older value under the key is removed (it would be stale).
   */
  set(key: string, value: V, options: SetOptions = {}): boolean {
    checkKey(key)
    const meta = checkMeta(options.meta)
    const generationMs = checkDuration(options.generationMs)
    const bytes = this.measure(value) + metaBytes(meta)

    const slot = this.table.slotOf(key)
    // Looked up only when some entry is pinned: a plain insert pays no second hash lookup.
    const pinned = slot === undefined && this.pinned.size !== 0 ? this.pinned.get(key) : undefined
    if (pinned) {
      // A pinned entry is replaced in place and stays pinned, whatever its size: the user keeps it.
      this.pinnedBytes += bytes - pinned.info.bytes
      this.bytes += bytes - pinned.info.bytes
      const old = { ...pinned.info, value: pinned.value }
      const time = this.now()
      pinned.value = value
      pinned.info = { ...pinned.info, bytes, meta, generationMs, lastAccessAt: time }
      this.onEvict?.(key, old, 'replaced')
      this.enforceLimits()
      return true
    }
    if (bytes > this.limits.maxBytes) {
      if (slot !== undefined) this.remove(slot, 'replaced')
      this.counter.rejected++
      return false
    }
    if (slot === undefined && this.evictsBeforeAdmitting(options)) {
      this.admitInVictimSlot(key, value, bytes, meta, generationMs, options.history)
      this.enforceLimits()
      return true
    }
    if (slot === undefined) {
      const inserted = this.table.insert(key, value, bytes, meta, generationMs, this.now(), options.coldest)
      if (options.history) this.table.restore(inserted, options.history)
      if (options.pinned) this.pinSlot(key, inserted)
      else this.policy.admitted(inserted)
    } else {
      const old = this.onEvict ? this.removal(slot) : undefined
      this.bytes -= this.table.bytes(slot)
      this.table.update(slot, value, bytes, meta, generationMs, this.now())
      this.policy.admitted(slot)
      if (old) this.onEvict?.(key, old, 'replaced')
    }
    this.bytes += bytes
    this.enforceLimits()
    return true
  }

  delete(key: string): boolean {
    checkKey(key)
    const slot = this.table.slotOf(key)
    if (slot !== undefined) {
      this.remove(slot, 'deleted')
      return true
    }
    const pinned = this.pinned.get(key)
    if (!pinned) return false
    this.unpinned(key, pinned)
    this.bytes -= pinned.info.bytes
    this.onEvict?.(key, { ...pinned.info, value: pinned.value }, 'deleted')
    return true
  }

  /**
   * Drops every entry, pinned ones too unless `keepPinned`. Computations under way go on and
   * store their result when done.
   */
  clear({ keepPinned = false } = {}): void {
    const removed = this.onEvict ? this.table.slotsFromNewest().map((slot) => this.removal(slot)) : []
    this.table.clear()
    this.policy.cleared()
    if (!keepPinned) {
      for (const [key, entry] of this.pinned) removed.push({ ...entry.info, key, value: entry.value })
      this.pinned.clear()
      this.pinnedBytes = 0
    }
    this.bytes = this.pinnedBytes
    for (const entry of removed) this.onEvict?.(entry.key, entry, 'cleared')
  }

  getLimits(): CacheLimits {
    return { ...this.limits }
  }

  get policyName(): EvictionPolicyName {
    return this.policy.name
  }

  /**
   * Changes the eviction policy at run time. The entries stay; the new policy starts from
   * their current hits, costs and sizes, and evicts at once only if a limit is exceeded.
   */
  setPolicy(name: EvictionPolicyName): void {
    if (checkPolicy(name) === this.policy.name) return
    this.policy = createPolicy(name, this.table)
    for (const slot of this.table.slotsFromNewest().reverse()) this.policy.admitted(slot)
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
    if (this.pinned.size === 0) return this.table.slotsFromNewest().map((slot) => this.table.key(slot))
    return this.entries().map((entry) => entry.key)
  }

  /** Entry bookkeeping from most to least recently used (a snapshot); pinned entries by their last use. */
  entries(): CacheEntryInfo[] {
    const listed = this.table.slotsFromNewest().map((slot) => this.table.info(slot))
    if (this.pinned.size === 0) return listed
    const pinned = [...this.pinned.values()].map((entry) => ({ ...entry.info }))
    pinned.sort((a, b) => b.lastAccessAt - a.lastAccessAt)
    // A merge: the table's own order stays as it is (entries warmed in as coldest keep their place).
    const merged: CacheEntryInfo[] = []
    let p = 0
    for (const entry of listed) {
      while (p < pinned.length && (pinned[p] as CacheEntryInfo).lastAccessAt > entry.lastAccessAt)
        merged.push(pinned[p++] as CacheEntryInfo)
      merged.push(entry)
    }
    return merged.concat(pinned.slice(p))
  }

  stats(): CacheStats {
    return {
      ...this.counter.snapshot(),
      policy: this.policy.name,
      inFlight: this.flights.size,
      currentItems: this.size,
      keptItems: this.pinned.size,
      keptBytes: this.pinnedBytes,
      currentBytes: this.bytes,
      maxItems: this.limits.maxItems,
      maxBytes: this.limits.maxBytes,
      memoryUtilization: this.bytes / this.limits.maxBytes,
    }
  }

  /** Zeroes the counters; the contents and the limits stay. */
  resetStats(): void {
    this.counter.reset()
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
    if (slot !== undefined) {
      this.recordHit(slot)
      const { table } = this
      return Promise.resolve({ value: table.value(slot), outcome: 'hit', generationMs: table.generationMs(slot) })
    }
    const pinned = this.pinnedUse(key)
    if (pinned) {
      const { generationMs } = pinned.info
      this.counter.recordHit(generationMs)
      return Promise.resolve({ value: pinned.value, outcome: 'hit', generationMs })
    }
    let flight = this.flights.get(key)
    let outcome: CacheOutcome
    if (flight === undefined) {
      this.counter.recordMiss()
      flight = this.startFlight(key, compute, meta)
      outcome = 'miss'
    } else {
      this.counter.coalesced++
      outcome = 'coalesced'
    }
    return this.wait(key, flight, outcome, signal)
  }

  private startFlight(key: string, compute: Compute<V>, meta: EntryMeta): Flight<V> {
    const controller = new AbortController()
    const started = this.monotonicNow()
    let reported: number | undefined
    let reportedMeta: EntryMeta | undefined
    let origin: string | undefined
    const control: ComputeControl = {
      reportOrigin: (value) => {
        origin = value
      },
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
            this.counter.cancelled++
            throw abortReason(controller.signal)
          }
          const measuredMs = Math.max(0, this.monotonicNow() - started)
          const generationMs = reported ?? measuredMs
          try {
            this.set(key, value, { meta: reportedMeta ?? meta, generationMs })
          } catch (error) {
            // A value the cache cannot measure (not bytes) fails the load for every caller.
            this.counter.loadFailures++
            throw error
          }
          this.counter.recordLoadSuccess(measuredMs)
          return { value, generationMs, origin }
        },
        (error: unknown) => {
          this.endFlight(key, flight)
          if (controller.signal.aborted) this.counter.cancelled++
          else this.counter.loadFailures++
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
    const settle = ({ value, generationMs, origin }: Computed<V>): Loaded<V> => ({
      value,
      outcome,
      generationMs,
      origin,
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
    this.counter.recordHit(this.table.generationMs(slot))
    this.table.touch(slot, this.now())
    this.policy.hit(slot)
  }

  /** Moves an entry out of the table (and out of every policy's reach) into the pinned ones. */
  private pinSlot(key: string, slot: number): void {
    const info = this.table.info(slot)
    this.pinned.set(key, { value: this.table.value(slot), info })
    this.pinnedBytes += info.bytes
    this.table.remove(slot)
  }

  /** A use of a pinned entry: its access time and hit count (the caller counts the statistics). */
  private pinnedUse(key: string): PinnedEntry<V> | undefined {
    if (this.pinned.size === 0) return undefined
    const entry = this.pinned.get(key)
    if (entry) {
      entry.info.hits++
      entry.info.lastAccessAt = this.now()
    }
    return entry
  }

  private unpinned(key: string, entry: PinnedEntry<V>): void {
    this.pinned.delete(key)
    this.pinnedBytes -= entry.info.bytes
  }

  /**
   * A new entry meets a full table, and the policy's victim cannot be the newcomer: evict first
   * and give the newcomer the victim's slot, as node-lru-cache does. The events and the state
   * each hook sees are those of admitting, then evicting; only the slot is not freed and taken again.
   */
  private evictsBeforeAdmitting(options: SetOptions): boolean {
    return (
      this.policy.victimBeforeAdmission &&
      !options.coldest &&
      !options.pinned &&
      this.table.size !== 0 &&
      this.size >= this.limits.maxItems
    )
  }

  private admitInVictimSlot(
    key: string,
    value: V,
    bytes: number,
    meta: EntryMeta,
    generationMs: number,
    history: SetOptions['history'],
  ): void {
    const slot = this.policy.victim()
    const evicted = this.onEvict ? this.removal(slot) : undefined
    const evictedBytes = this.table.bytes(slot)
    this.counter.recordEviction(evictedBytes)
    this.policy.evicting(slot)
    this.policy.removed(slot)
    this.table.reuse(slot, key, value, bytes, meta, generationMs, this.now())
    if (history) this.table.restore(slot, history)
    this.policy.admitted(slot)
    this.bytes += bytes - evictedBytes
    if (evicted) this.onEvict?.(evicted.key, evicted, 'maxItems')
  }

  private enforceLimits(): void {
    const { maxItems, maxBytes } = this.limits
    for (;;) {
      const overItems = this.size > maxItems
      if (!overItems && this.bytes <= maxBytes) return
      // Pinned entries count but are never victims: with only they left, the limits stay exceeded.
      const slot = this.policy.victim()
      if (slot === NONE) return
      this.counter.recordEviction(this.table.bytes(slot))
      this.policy.evicting(slot)
      this.remove(slot, overItems ? 'maxItems' : 'maxBytes')
    }
  }

  private remove(slot: number, reason: RemovalReason): void {
    const entry = this.onEvict ? this.removal(slot) : undefined
    this.bytes -= this.table.bytes(slot)
    this.policy.removed(slot)
    this.table.remove(slot)
    if (entry) this.onEvict?.(entry.key, entry, reason)
  }

  /** What the onEvict hook receives: the entry's bookkeeping and its value. */
  private removal(slot: number): CacheEntryInfo & { value: V } {
    return { ...this.table.info(slot), value: this.table.value(slot) }
  }
}
