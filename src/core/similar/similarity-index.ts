/** A 64-bit perceptual hash as two 32-bit halves (JavaScript's bit operations are 32-bit). */
export interface Hash64 {
  hi: number
  lo: number
}

export function parseHash64(hex: string): Hash64 | undefined {
  if (!/^[0-9a-f]{16}$/.test(hex)) return undefined
  return { hi: Number.parseInt(hex.slice(0, 8), 16) >>> 0, lo: Number.parseInt(hex.slice(8), 16) >>> 0 }
}

export function formatHash64({ hi, lo }: Hash64): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

/** Set bits of a 32-bit number (the classic SWAR count). */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}

/** Set bits of every 16-bit number: the scan counts a 32-bit half in two reads (a third faster than SWAR). */
const POPCOUNT16 = new Uint8Array(1 << 16)
for (let i = 1; i < POPCOUNT16.length; i++) POPCOUNT16[i] = (POPCOUNT16[i >> 1] as number) + (i & 1)

export function hammingDistance(a: Hash64, b: Hash64): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0)
}

/** The hashes of one group of entries (same generation parameters), packed for a fast scan: one slot per hash. */
class Group {
  keys: string[] = []
  hi = new Uint32Array(64)
  lo = new Uint32Array(64)

  get size(): number {
    return this.keys.length
  }

  add(key: string, hash: Hash64): number {
    const at = this.keys.length
    if (at === this.hi.length) {
      const hi = new Uint32Array(at * 2)
      const lo = new Uint32Array(at * 2)
      hi.set(this.hi)
      lo.set(this.lo)
      this.hi = hi
      this.lo = lo
    }
    this.keys.push(key)
    this.hi[at] = hash.hi
    this.lo[at] = hash.lo
    return at
  }

  /** Removes slot `at` by moving the last slot there; returns the key whose slot moved, if any. */
  removeAt(at: number): string | undefined {
    const last = this.keys.length - 1
    const moved = this.keys[last] as string
    this.keys[at] = moved
    this.hi[at] = this.hi[last] as number
    this.lo[at] = this.lo[last] as number
    this.keys.pop()
    return at === last ? undefined : moved
  }
}

export interface Neighbour {
  key: string
  distance: number
}

/**
 * Finds entries whose pictures look alike: for each group of generation parameters (only a
 * model made with the same prompt, quality, seed and backend can stand in for another), a
 * linear scan over packed 32-bit halves with a population count. An entry may be indexed by
 * several hashes (its picture and crops of it); its distance is that of its nearest hash.
 * 100 000 entries scan in about a millisecond, so no tree is needed.
 */
export class SimilarityIndex {
  private readonly groups = new Map<string, Group>()
  /** Each key's group and the slots of its hashes there. */
  private readonly where = new Map<string, { group: string; slots: number[] }>()

  get size(): number {
    return this.where.size
  }

  add(key: string, group: string, hashes: Hash64 | readonly Hash64[]): void {
    this.remove(key)
    let members = this.groups.get(group)
    if (!members) {
      members = new Group()
      this.groups.set(group, members)
    }
    const list = Array.isArray(hashes) ? hashes : [hashes as Hash64]
    const slots = list.map((hash) => (members as Group).add(key, hash))
    this.where.set(key, { group, slots })
  }

  remove(key: string): void {
    const place = this.where.get(key)
    if (!place) return
    this.where.delete(key)
    const members = this.groups.get(place.group) as Group
    // Highest slot first: a slot moved into a freed place is never one still to be removed.
    for (const at of [...place.slots].sort((a, b) => b - a)) {
      const last = members.size - 1
      const moved = members.removeAt(at)
      if (moved === undefined) continue
      const slots = (this.where.get(moved) as { slots: number[] }).slots
      slots[slots.indexOf(last)] = at
    }
    if (members.size === 0) this.groups.delete(place.group)
  }

  clear(): void {
    this.groups.clear()
    this.where.clear()
  }

  /** Entries of the group within `threshold` bits of `hash`, nearest first (at most `limit`). */
  nearest(group: string, hash: Hash64, threshold: number, limit = 5): Neighbour[] {
    const members = this.groups.get(group)
    if (!members) return []
    const best = new Map<string, number>()
    const { hi, lo, keys } = members
    const askedHi = hash.hi
    const askedLo = hash.lo
    const slots = keys.length
    for (let i = 0; i < slots; i++) {
      // Half the hash decides most slots: the other half is counted only when it could still match.
      const x = ((hi[i] as number) ^ askedHi) >>> 0
      const high = (POPCOUNT16[x >>> 16] as number) + (POPCOUNT16[x & 0xffff] as number)
      if (high > threshold) continue
      const y = ((lo[i] as number) ^ askedLo) >>> 0
      const distance = high + (POPCOUNT16[y >>> 16] as number) + (POPCOUNT16[y & 0xffff] as number)
      if (distance > threshold) continue
      const key = keys[i] as string
      const known = best.get(key)
      if (known === undefined || distance < known) best.set(key, distance)
    }
    return [...best]
      .map(([key, distance]) => ({ key, distance }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, limit)
  }
}
