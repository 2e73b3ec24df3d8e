import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LruCache } from '../../../src/core/cache'
import { type CacheLimits, EVICTION_POLICIES, type EvictionPolicyName } from '../../../src/shared/cache-types'

/**
 * Model-based test: random command sequences run against the real cache and a deliberately
 * naive reference model (an array in recency order). After every step, contents, order,
 * limits and every counter must agree.
 */

interface ModelEntry {
  key: string
  bytes: number
  /** Generation time (the cost GDSF weighs). */
  cost: number
  hits: number
  /** GDSF: priority and the recency stamp that breaks ties. */
  priority: number
  stamp: number
}

interface Model {
  policy: EvictionPolicyName
  entries: ModelEntry[] // most recent first
  /** GDSF's inflation L. */
  inflation: number
  clock: number
  limits: CacheLimits
  hits: number
  misses: number
  evictions: number
  evictedBytes: number
  rejected: number
  loads: number
  loadFailures: number
  /** Every eviction for a limit, in order, as `key:reason`. */
  evicted: string[]
}

type Real = LruCache<Uint8Array>
/** What the real cache's onEvict hook saw, in the same form as the model's `evicted`. */
const evictedBy = new WeakMap<Real, string[]>()

const NUM_RUNS = Number(process.env.MODEL_RUNS ?? 1000)
const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')
const sizeArb = fc.integer({ min: 0, max: 40 })

function modelBytes(m: Model): number {
  return m.entries.reduce((sum, e) => sum + e.bytes, 0)
}

/** GDSF's priority, written as plainly as the paper has it: H = L + frequency × cost / size. */
function rank(m: Model, entry: ModelEntry): void {
  entry.priority = m.inflation + ((entry.hits + 1) * Math.max(1, entry.cost)) / Math.max(1, entry.bytes)
  entry.stamp = ++m.clock
}

/** The entry that leaves first: the least recently used, or the lowest priority (older on a tie). */
function victimIndex(m: Model): number {
  if (m.policy === 'lru') return m.entries.length - 1
  let best = 0
  m.entries.forEach((e, i) => {
    const b = m.entries[best] as ModelEntry
    if (e.priority < b.priority || (e.priority === b.priority && e.stamp < b.stamp)) best = i
  })
  return best
}

function modelEvict(m: Model): void {
  while (m.entries.length > m.limits.maxItems || modelBytes(m) > m.limits.maxBytes) {
    if (m.entries.length === 0) return
    const reason = m.entries.length > m.limits.maxItems ? 'maxItems' : 'maxBytes'
    const [victim] = m.entries.splice(victimIndex(m), 1) as [ModelEntry]
    m.evicted.push(`${victim.key}:${reason}`)
    if (m.policy === 'gdsf') m.inflation = victim.priority
    m.evictions++
    m.evictedBytes += victim.bytes
  }
}

function modelSet(m: Model, key: string, bytes: number, cost = 0): void {
  const index = m.entries.findIndex((e) => e.key === key)
  const previous = index < 0 ? undefined : m.entries.splice(index, 1)[0]
  if (bytes > m.limits.maxBytes) {
    m.rejected++
    return
  }
  // An update in place keeps the entry's hit count.
  const entry: ModelEntry = { key, bytes, cost, hits: previous?.hits ?? 0, priority: 0, stamp: 0 }
  rank(m, entry)
  m.entries.unshift(entry)
  modelEvict(m)
}

function modelTouch(m: Model, key: string): boolean {
  const index = m.entries.findIndex((e) => e.key === key)
  if (index < 0) return false
  const [entry] = m.entries.splice(index, 1) as [ModelEntry]
  entry.hits++
  rank(m, entry)
  m.entries.unshift(entry)
  return true
}

function check(m: Model, r: Real): void {
  expect(r.keys()).toEqual(m.entries.map((e) => e.key))
  expect(evictedBy.get(r)).toEqual(m.evicted)
  for (const e of m.entries) expect(r.peek(e.key)?.byteLength).toBe(e.bytes)
  const s = r.stats()
  expect(s.currentItems).toBe(m.entries.length)
  expect(s.currentBytes).toBe(modelBytes(m))
  expect(s.currentItems).toBeLessThanOrEqual(s.maxItems)
  expect(s.currentBytes).toBeLessThanOrEqual(s.maxBytes)
  expect({ maxItems: s.maxItems, maxBytes: s.maxBytes }).toEqual(m.limits)
  expect(s).toMatchObject({
    hits: m.hits,
    misses: m.misses,
    evictions: m.evictions,
    evictedBytes: m.evictedBytes,
    rejected: m.rejected,
    loads: m.loads,
    loadFailures: m.loadFailures,
    inFlight: 0,
  })
}

class SetCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly key: string,
    readonly size: number,
    readonly cost: number,
  ) {}
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    r.set(this.key, new Uint8Array(this.size), { generationMs: this.cost })
    modelSet(m, this.key, this.size, this.cost)
    check(m, r)
  }
  toString = (): string => `set(${this.key}, ${this.size}, ${this.cost} ms)`
}

class GetCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly key: string) {}
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    const value = r.get(this.key)
    if (modelTouch(m, this.key)) m.hits++
    else m.misses++
    expect(value === undefined).toBe(m.entries[0]?.key !== this.key)
    check(m, r)
  }
  toString = (): string => `get(${this.key})`
}

class PeekCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly key: string) {}
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    expect(r.peek(this.key)?.byteLength).toBe(m.entries.find((e) => e.key === this.key)?.bytes)
    check(m, r)
  }
  toString = (): string => `peek(${this.key})`
}

class DeleteCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly key: string) {}
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    const existed = m.entries.some((e) => e.key === this.key)
    expect(r.delete(this.key)).toBe(existed)
    m.entries = m.entries.filter((e) => e.key !== this.key)
    check(m, r)
  }
  toString = (): string => `delete(${this.key})`
}

class ClearCommand implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    r.clear()
    m.entries = []
    m.inflation = 0
    check(m, r)
  }
  toString = (): string => 'clear()'
}

class ReconfigureCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly limits: Partial<CacheLimits>) {}
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    r.setLimits(this.limits)
    m.limits = { ...m.limits, ...this.limits }
    modelEvict(m)
    check(m, r)
  }
  toString = (): string => `setLimits(${JSON.stringify(this.limits)})`
}

class GetOrComputeCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly key: string,
    readonly size: number,
    readonly fails: boolean,
  ) {}
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    const compute = async (): Promise<Uint8Array> => {
      if (this.fails) throw new Error('generation failed')
      return new Uint8Array(this.size)
    }
    const result = await r.getOrCompute(this.key, compute).then(
      (loaded) => loaded.outcome,
      () => 'failed' as const,
    )
    if (modelTouch(m, this.key)) {
      m.hits++
      expect(result).toBe('hit')
    } else {
      m.misses++
      if (this.fails) {
        m.loadFailures++
        expect(result).toBe('failed')
      } else {
        m.loads++
        modelSet(m, this.key, this.size)
        expect(result).toBe('miss')
      }
    }
    check(m, r)
  }
  toString = (): string => `getOrCompute(${this.key}, ${this.size}${this.fails ? ', fails' : ''})`
}

const commandArbs = [
  fc.tuple(keyArb, sizeArb, fc.integer({ min: 0, max: 50 })).map(([k, s, c]) => new SetCommand(k, s, c)),
  keyArb.map((k) => new GetCommand(k)),
  keyArb.map((k) => new PeekCommand(k)),
  keyArb.map((k) => new DeleteCommand(k)),
  fc.constant(new ClearCommand()),
  fc
    .record(
      { maxItems: fc.integer({ min: 1, max: 6 }), maxBytes: fc.integer({ min: 1, max: 120 }) },
      { requiredKeys: [] },
    )
    .map((limits) => new ReconfigureCommand(limits)),
  fc
    .tuple(
      keyArb,
      sizeArb,
      fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    )
    .map(([k, s, f]) => new GetOrComputeCommand(k, s, f)),
]

function realCache(maxItems: number, maxBytes: number, policy: EvictionPolicyName): Real {
  const evicted: string[] = []
  const real: Real = new LruCache<Uint8Array>({
    maxItems,
    maxBytes,
    policy,
    // A computation's measured time is its cost: a clock that stands still makes it 0.
    monotonicNow: () => 0,
    onEvict: (key, _entry, reason) => {
      if (reason === 'maxItems' || reason === 'maxBytes') evicted.push(`${key}:${reason}`)
    },
  })
  evictedBy.set(real, evicted)
  return real
}

describe.each(EVICTION_POLICIES)('the cache under %s against a reference model', (policy) => {
  it(`agrees on contents, order, limits and counters (${NUM_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 120 }),
        fc.commands(commandArbs, { maxCommands: 60 }),
        async (maxItems, maxBytes, commands) => {
          const setup = (): { model: Model; real: Real } => ({
            model: {
              policy,
              entries: [],
              inflation: 0,
              clock: 0,
              limits: { maxItems, maxBytes },
              hits: 0,
              misses: 0,
              evictions: 0,
              evictedBytes: 0,
              rejected: 0,
              loads: 0,
              loadFailures: 0,
              evicted: [],
            },
            real: realCache(maxItems, maxBytes, policy),
          })
          await fc.asyncModelRun(setup, commands)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})
