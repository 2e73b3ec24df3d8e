import type {
  CacheEntryInfo,
  CacheLimits,
  CacheOutcome,
  CacheStats,
  EntryMeta,
  RemovalReason,
} from '../../shared/cache-types'
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_ITEMS } from '../../shared/cache-types'
import { abortReason, CacheArgumentError } from './errors'
import { turnClock } from './turn-clock'

/**
 * One cached value with its bookkeeping. Entries form a doubly linked list through
 * `newer`/`older`, most recently used at the head, so every operation is O(1).
 */
interface Node<V> {
  readonly key: string
  value: V
  bytes: number
  readonly createdAt: number
  lastAccessAt: number
  hits: number
  readonly generationMs: number
  readonly meta: EntryMeta
  newer: Node<V> | undefined
  older: Node<V> | undefined
}

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
  private readonly index = new Map<string, Node<V>>()
  private readonly flights = new Map<string, Flight<V>>()
  /** Most recently used. */
  private head: Node<V> | undefined
  /** Least recently used: the eviction victim. */
  private tail: Node<V> | undefined
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
    return this.index.size
  }

  get currentBytes(): number {
    return this.bytes
  }

  /** Returns the value and marks it most recently used; counts a hit or a miss. */
  get(key: string): V | undefined {
    checkKey(key)
    const node = this.index.get(key)
    if (node === undefined) {
      this.misses++
      return undefined
    }
    this.recordHit(node)
    return node.value
  }

  /** Returns the value without touching recency or statistics. */
  peek(key: string): V | undefined {
    checkKey(key)
    return this.index.get(key)?.value
  }

  has(key: string): boolean {
    checkKey(key)
    return this.index.has(key)
  }

  /** The bookkeeping of one entry, without touching recency or statistics. */
  info(key: string): CacheEntryInfo | undefined {
    checkKey(key)
    const node = this.index.get(key)
    return node && toInfo(node)
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

    const previous = this.index.get(key)
    if (previous !== undefined) this.remove(previous, 'replaced')
    if (bytes > this.limits.maxBytes) {
      this.rejected++
      return false
    }
    const time = this.now()
    const node: Node<V> = {
      key,
      value,
      bytes,
      createdAt: time,
      lastAccessAt: time,
      hits: 0,
      generationMs,
      meta,
      newer: undefined,
      older: undefined,
    }
    this.index.set(key, node)
    this.bytes += bytes
    this.linkAtHead(node)
    this.enforceLimits()
    return true
  }

  delete(key: string): boolean {
    checkKey(key)
    const node = this.index.get(key)
    if (node === undefined) return false
    this.remove(node, 'deleted')
    return true
  }

  /** Drops every entry. Computations under way go on and store their result when done. */
  clear(): void {
    const nodes = this.onEvict ? this.nodesFromNewest() : []
    this.index.clear()
    this.head = undefined
    this.tail = undefined
    this.bytes = 0
    for (const node of nodes) this.notify(node, 'cleared')
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
    return this.nodesFromNewest().map((node) => node.key)
  }

  /** Entry bookkeeping from most to least recently used (a snapshot). */
  entries(): CacheEntryInfo[] {
    return this.nodesFromNewest().map(toInfo)
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
      currentItems: this.index.size,
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
  getOrCompute(
    key: string,
    compute: (signal: AbortSignal) => Promise<V>,
    options: ComputeOptions = {},
  ): Promise<Loaded<V>> {
    checkKey(key)
    if (typeof compute !== 'function') throw new CacheArgumentError('compute must be a function')
    const meta = checkMeta(options.meta)
    const { signal } = options
    if (signal?.aborted) return Promise.reject(abortReason(signal))

    const node = this.index.get(key)
    if (node !== undefined) {
      this.recordHit(node)
      return Promise.resolve({ value: node.value, outcome: 'hit', generationMs: node.generationMs })
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

  private startFlight(key: string, compute: (signal: AbortSignal) => Promise<V>, meta: EntryMeta): Flight<V> {
    const controller = new AbortController()
    const started = this.monotonicNow()
    const promise = Promise.resolve()
      .then(() => compute(controller.signal))
      .then(
        (value) => {
          this.endFlight(key, flight)
          if (controller.signal.aborted) {
            this.cancelled++
            throw abortReason(controller.signal)
          }
          const generationMs = Math.max(0, this.monotonicNow() - started)
          try {
            this.set(key, value, { meta, generationMs })
          } catch (error) {
            // A value the cache cannot measure (not bytes) fails the load for every caller.
            this.loadFailures++
            throw error
          }
          this.loads++
          this.totalLoadMs += generationMs
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

  private recordHit(node: Node<V>): void {
    this.hits++
    this.savedMs += node.generationMs
    node.hits++
    node.lastAccessAt = this.now()
    if (node !== this.head) {
      this.unlink(node)
      this.linkAtHead(node)
    }
  }

  /**
   * The eviction seam: the one place that picks a victim. LRU takes the tail; a cost- or
   * frequency-aware policy would replace this method and the recency bookkeeping above.
   */
  private victim(): Node<V> | undefined {
    return this.tail
  }

  private enforceLimits(): void {
    const { maxItems, maxBytes } = this.limits
    while (this.index.size > maxItems || this.bytes > maxBytes) {
      const node = this.victim()
      if (node === undefined) return
      const reason: RemovalReason = this.index.size > maxItems ? 'maxItems' : 'maxBytes'
      this.evictions++
      this.evictedBytes += node.bytes
      this.remove(node, reason)
    }
  }

  private remove(node: Node<V>, reason: RemovalReason): void {
    this.index.delete(node.key)
    this.bytes -= node.bytes
    this.unlink(node)
    this.notify(node, reason)
  }

  private notify(node: Node<V>, reason: RemovalReason): void {
    if (this.onEvict) this.onEvict(node.key, { ...toInfo(node), value: node.value }, reason)
  }

  private linkAtHead(node: Node<V>): void {
    node.newer = undefined
    node.older = this.head
    if (this.head) this.head.newer = node
    else this.tail = node
    this.head = node
  }

  private unlink(node: Node<V>): void {
    if (node.newer) node.newer.older = node.older
    else this.head = node.older
    if (node.older) node.older.newer = node.newer
    else this.tail = node.newer
    node.newer = undefined
    node.older = undefined
  }

  private nodesFromNewest(): Node<V>[] {
    const nodes: Node<V>[] = []
    for (let node = this.head; node !== undefined; node = node.older) nodes.push(node)
    return nodes
  }
}

function toInfo<V>(node: Node<V>): CacheEntryInfo {
  return {
    key: node.key,
    bytes: node.bytes,
    createdAt: node.createdAt,
    lastAccessAt: node.lastAccessAt,
    hits: node.hits,
    generationMs: node.generationMs,
    meta: node.meta,
  }
}
