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

export function hammingDistance(a: Hash64, b: Hash64): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0)
}

/** The hashes of one group of entries (same generation parameters), packed for a fast scan. */
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

  /** Removes position `at` by moving the last one there; returns the key that moved, if any. */
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
 * linear scan over packed 32-bit halves with a population count. 100 000 entries scan in
 * well under a millisecond, so no tree is needed.
 */
export class SimilarityIndex {
  private readonly groups = new Map<string, Group>()
  private readonly where = new Map<string, { group: string; at: number }>()

  get size(): number {
    return this.where.size
  }

  add(key: string, group: string, hash: Hash64): void {
    this.remove(key)
    let members = this.groups.get(group)
    if (!members) {
      members = new Group()
      this.groups.set(group, members)
    }
    this.where.set(key, { group, at: members.add(key, hash) })
  }

  remove(key: string): void {
    const place = this.where.get(key)
    if (!place) return
    this.where.delete(key)
    const members = this.groups.get(place.group) as Group
    const moved = members.removeAt(place.at)
    if (moved !== undefined) this.where.set(moved, { group: place.group, at: place.at })
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
    const found: Neighbour[] = []
    const { hi, lo, keys } = members
    for (let i = 0; i < keys.length; i++) {
      const distance = popcount32(((hi[i] as number) ^ hash.hi) >>> 0) + popcount32(((lo[i] as number) ^ hash.lo) >>> 0)
      if (distance <= threshold) found.push({ key: keys[i] as string, distance })
    }
    return found.sort((a, b) => a.distance - b.distance).slice(0, limit)
  }
}
