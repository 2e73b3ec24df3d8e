import type { EvictionPolicyName } from '../../shared/cache-types'
import { type EntryTable, NONE } from './entry-table'

/**
 * The eviction seam: which entry leaves when a limit is reached. The cache tells its policy
 * about every admission, hit and removal, and asks it for a victim; the entry table keeps
 * the recency order for every policy (the entries list and access times need it anyway).
 */
export interface EvictionPolicy {
  readonly name: EvictionPolicyName
  /**
   * Whether the victim can be chosen before a new entry is admitted, because a new entry is
   * never it (LRU puts it at the front). A full cache then evicts first and puts the new entry
   * in the victim's slot; otherwise it admits, then evicts (GDSF may evict the newcomer).
   */
  readonly victimBeforeAdmission: boolean
  /** A new entry, or one whose value was replaced in place. */
  admitted(slot: number): void
  hit(slot: number): void
  /** The entry is leaving (evicted, deleted or replaced by a too-large value). */
  removed(slot: number): void
  /** The slot to evict next; NONE when the table is empty. */
  victim(): number
  /** The victim is being evicted because of a limit (not a delete). */
  evicting(slot: number): void
  cleared(): void
}

/** Least recently used: the tail of the table's recency list. Nothing to keep of its own. */
export class LruPolicy implements EvictionPolicy {
  readonly name = 'lru'
  readonly victimBeforeAdmission = true
  constructor(private readonly table: EntryTable<unknown>) {}
  admitted(): void {}
  hit(): void {}
  removed(): void {}
  evicting(): void {}
  cleared(): void {}
  victim(): number {
    return this.table.tail
  }
}

/**
 * GreedyDual-Size-Frequency (Cherkasova 1998): each entry's priority is
 * `H = L + frequency × cost / size`, where cost is its generation time, frequency its hits
 * plus one, and L the priority of the last evicted entry (the "inflation" that ages entries
 * nobody asks for any more). The entry with the lowest H leaves first; ties go to the least
 * recently used. An indexed binary min-heap of slots keeps every operation O(log n), with no
 * scan on eviction.
 */
export class GdsfPolicy implements EvictionPolicy {
  readonly name = 'gdsf'
  readonly victimBeforeAdmission = false
  private inflation = 0
  private size = 0
  /** heap[i] = slot at heap position i. */
  private heap = new Int32Array(16)
  /** position[slot] = index in heap, or NONE. */
  private position = new Int32Array(16).fill(NONE)
  private priority = new Float64Array(16)
  /** Recency stamp per slot: the tie-breaker (older goes first). */
  private stamp = new Float64Array(16)
  private clock = 0

  constructor(private readonly table: EntryTable<unknown>) {}

  admitted(slot: number): void {
    this.fit()
    this.priority[slot] = this.valueOf(slot)
    this.stamp[slot] = ++this.clock
    const at = this.position[slot] as number
    if (at === NONE) {
      this.heap[this.size] = slot
      this.position[slot] = this.size
      this.size++
      this.up(this.size - 1)
    } else {
      this.restore(at)
    }
  }

  hit(slot: number): void {
    this.priority[slot] = this.valueOf(slot)
    this.stamp[slot] = ++this.clock
    // A hit only raises the priority: the entry can only move away from the root.
    this.down(this.position[slot] as number)
  }

  removed(slot: number): void {
    const at = this.position[slot] as number
    if (at === NONE) return
    const last = this.heap[--this.size] as number
    this.position[slot] = NONE
    if (at === this.size) return
    this.heap[at] = last
    this.position[last] = at
    this.restore(at)
  }

  victim(): number {
    return this.size === 0 ? NONE : (this.heap[0] as number)
  }

  evicting(slot: number): void {
    this.inflation = this.priority[slot] as number
  }

  cleared(): void {
    this.size = 0
    this.position.fill(NONE)
    this.inflation = 0
  }

  /** The current priority of an entry (for tests and the entries list). */
  priorityOf(slot: number): number {
    return this.priority[slot] as number
  }

  private valueOf(slot: number): number {
    const frequency = this.table.hits(slot) + 1
    // A cost of at least 1 ms keeps size (and frequency) meaningful for entries of unknown cost.
    const cost = Math.max(1, this.table.generationMs(slot))
    return this.inflation + (frequency * cost) / Math.max(1, this.table.bytes(slot))
  }

  private less(a: number, b: number): boolean {
    const pa = this.priority[a] as number
    const pb = this.priority[b] as number
    return pa < pb || (pa === pb && (this.stamp[a] as number) < (this.stamp[b] as number))
  }

  /** Moves the entry at `at` up or down to where its (changed) priority belongs. */
  private restore(at: number): void {
    const slot = this.heap[at] as number
    this.up(at)
    this.down(this.position[slot] as number)
  }

  private up(at: number): void {
    const slot = this.heap[at] as number
    while (at > 0) {
      const parentAt = (at - 1) >> 1
      const parent = this.heap[parentAt] as number
      if (!this.less(slot, parent)) break
      this.heap[at] = parent
      this.position[parent] = at
      at = parentAt
    }
    this.heap[at] = slot
    this.position[slot] = at
  }

  private down(at: number): void {
    const slot = this.heap[at] as number
    for (;;) {
      const left = 2 * at + 1
      if (left >= this.size) break
      const right = left + 1
      let child = left
      if (right < this.size && this.less(this.heap[right] as number, this.heap[left] as number)) child = right
      const smallest = this.heap[child] as number
      if (!this.less(smallest, slot)) break
      this.heap[at] = smallest
      this.position[smallest] = at
      at = child
    }
    this.heap[at] = slot
    this.position[slot] = at
  }

  /** Grows the per-slot arrays with the table. */
  private fit(): void {
    const capacity = this.table.capacity
    if (this.position.length >= capacity) return
    const grow = <T extends Int32Array | Float64Array>(old: T, make: (n: number) => T, fill?: number): T => {
      const next = make(capacity)
      if (fill !== undefined) next.fill(fill)
      next.set(old)
      return next
    }
    this.heap = grow(this.heap, (n) => new Int32Array(n))
    this.position = grow(this.position, (n) => new Int32Array(n), NONE)
    this.priority = grow(this.priority, (n) => new Float64Array(n))
    this.stamp = grow(this.stamp, (n) => new Float64Array(n))
  }
}

export function createPolicy(name: EvictionPolicyName, table: EntryTable<unknown>): EvictionPolicy {
  return name === 'gdsf' ? new GdsfPolicy(table) : new LruPolicy(table)
}
