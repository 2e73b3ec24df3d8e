import type { CacheEntryInfo, EntryMeta } from '../../shared/cache-types'

/** "No slot": the end of the recency list. */
export const NONE = -1

const INITIAL_CAPACITY = 16

/**
 * The cache's storage: entries live in numbered slots, their fields in parallel arrays, and
 * the recency order is a doubly linked list of slot numbers held in typed arrays. Moving an
 * entry therefore writes integers only (no pointer writes, no GC write barriers), which is
 * what makes a hit as cheap as node-lru-cache's. Every operation here is O(1).
 */
export class EntryTable<V> {
  private readonly slots = new Map<string, number>()
  private keys: (string | undefined)[] = []
  private values: (V | undefined)[] = []
  private metas: (EntryMeta | undefined)[] = []
  private sizes: Float64Array = new Float64Array(INITIAL_CAPACITY)
  private created: Float64Array = new Float64Array(INITIAL_CAPACITY)
  private accessed: Float64Array = new Float64Array(INITIAL_CAPACITY)
  private generation: Float64Array = new Float64Array(INITIAL_CAPACITY)
  private hitCounts: Float64Array = new Float64Array(INITIAL_CAPACITY)
  /** Toward the most recently used end. */
  private newer: Int32Array = new Int32Array(INITIAL_CAPACITY)
  /** Toward the least recently used end. */
  private older: Int32Array = new Int32Array(INITIAL_CAPACITY)
  private readonly freeSlots: number[] = []
  private used = 0
  /** Most recently used slot. */
  head = NONE
  /** Least recently used slot. */
  tail = NONE

  get size(): number {
    return this.slots.size
  }

  /**
   * The key's slot, or undefined when absent. Undefined rather than NONE: turning Map.get's
   * own "absent" into -1 made a miss measurably slower (13.9 against 13.6 ms per 400,000).
   */
  slotOf(key: string): number | undefined {
    return this.slots.get(key)
  }

  key(slot: number): string {
    return this.keys[slot] as string
  }

  value(slot: number): V {
    return this.values[slot] as V
  }

  bytes(slot: number): number {
    return this.sizes[slot] as number
  }

  generationMs(slot: number): number {
    return this.generation[slot] as number
  }

  hits(slot: number): number {
    return this.hitCounts[slot] as number
  }

  /** Slots handed out so far: every slot number is below this (policies size their arrays by it). */
  get capacity(): number {
    return this.newer.length
  }

  /** Adds an entry as the most (or, `coldest`, the least) recently used; the key must not be present. */
  insert(
    key: string,
    value: V,
    bytes: number,
    meta: EntryMeta,
    generationMs: number,
    time: number,
    coldest = false,
  ): number {
    const slot = this.allocate()
    this.slots.set(key, slot)
    this.keys[slot] = key
    this.values[slot] = value
    this.metas[slot] = meta
    this.sizes[slot] = bytes
    this.created[slot] = time
    this.accessed[slot] = time
    this.generation[slot] = generationMs
    this.hitCounts[slot] = 0
    if (coldest) this.linkAtTail(slot)
    else this.linkAtHead(slot)
    return slot
  }

  /**
   * Replaces an entry's value in place, as a use: the slot, its hit count and its creation
   * time stay; it moves to the front of the recency list.
   */
  update(slot: number, value: V, bytes: number, meta: EntryMeta, generationMs: number, time: number): void {
    this.values[slot] = value
    this.metas[slot] = meta
    this.sizes[slot] = bytes
    this.generation[slot] = generationMs
    this.accessed[slot] = time
    this.moveToHead(slot)
  }

  /** Sets an entry's times and hit count to what another tier remembered of it. */
  restore(slot: number, history: { createdAt: number; lastAccessAt: number; hits: number }): void {
    this.created[slot] = history.createdAt
    this.accessed[slot] = history.lastAccessAt
    this.hitCounts[slot] = history.hits
  }

  /** Records a hit: one more use, a new access time, and the front of the recency list. */
  touch(slot: number, time: number): void {
    ;(this.hitCounts[slot] as number)++
    this.accessed[slot] = time
    this.moveToHead(slot)
  }

  private moveToHead(slot: number): void {
    if (slot !== this.head) {
      this.unlink(slot)
      this.linkAtHead(slot)
    }
  }

  remove(slot: number): void {
    this.slots.delete(this.keys[slot] as string)
    this.unlink(slot)
    // Drop references at once so removed values can be collected.
    this.keys[slot] = undefined
    this.values[slot] = undefined
    this.metas[slot] = undefined
    this.freeSlots.push(slot)
  }

  clear(): void {
    this.slots.clear()
    this.keys = []
    this.values = []
    this.metas = []
    this.freeSlots.length = 0
    this.used = 0
    this.head = NONE
    this.tail = NONE
  }

  /** Slots from most to least recently used, as a snapshot. */
  slotsFromNewest(): number[] {
    const out: number[] = []
    for (let slot = this.head; slot !== NONE; slot = this.older[slot] as number) out.push(slot)
    return out
  }

  info(slot: number): CacheEntryInfo {
    return {
      key: this.keys[slot] as string,
      bytes: this.sizes[slot] as number,
      createdAt: this.created[slot] as number,
      lastAccessAt: this.accessed[slot] as number,
      hits: this.hitCounts[slot] as number,
      generationMs: this.generation[slot] as number,
      meta: this.metas[slot] as EntryMeta,
    }
  }

  private allocate(): number {
    const reused = this.freeSlots.pop()
    if (reused !== undefined) return reused
    if (this.used === this.newer.length) this.grow()
    return this.used++
  }

  private grow(): void {
    const capacity = this.newer.length * 2
    const widenF64 = (old: Float64Array): Float64Array => {
      const next = new Float64Array(capacity)
      next.set(old)
      return next
    }
    const widenI32 = (old: Int32Array): Int32Array => {
      const next = new Int32Array(capacity)
      next.set(old)
      return next
    }
    this.sizes = widenF64(this.sizes)
    this.created = widenF64(this.created)
    this.accessed = widenF64(this.accessed)
    this.generation = widenF64(this.generation)
    this.hitCounts = widenF64(this.hitCounts)
    this.newer = widenI32(this.newer)
    this.older = widenI32(this.older)
  }

  private linkAtHead(slot: number): void {
    this.newer[slot] = NONE
    this.older[slot] = this.head
    if (this.head !== NONE) this.newer[this.head] = slot
    else this.tail = slot
    this.head = slot
  }

  private linkAtTail(slot: number): void {
    this.older[slot] = NONE
    this.newer[slot] = this.tail
    if (this.tail !== NONE) this.older[this.tail] = slot
    else this.head = slot
    this.tail = slot
  }

  private unlink(slot: number): void {
    const newer = this.newer[slot] as number
    const older = this.older[slot] as number
    if (newer !== NONE) this.older[newer] = older
    else this.head = older
    if (older !== NONE) this.newer[older] = newer
    else this.tail = newer
  }
}
