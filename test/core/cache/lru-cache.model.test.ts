import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LruCache } from '../../../src/core/cache'
import type { CacheLimits } from '../../../src/shared/cache-types'

/**
 * Model-based test: random command sequences run against the real cache and a deliberately
 * naive reference model (an array in recency order). After every step, contents, order,
 * limits and every counter must agree.
 */

interface ModelEntry {
  key: string
  bytes: number
}

interface Model {
  entries: ModelEntry[] // most recent first
  limits: CacheLimits
  hits: number
  misses: number
  evictions: number
  evictedBytes: number
  rejected: number
  loads: number
  loadFailures: number
}

type Real = LruCache<Uint8Array>

const NUM_RUNS = Number(process.env.MODEL_RUNS ?? 1000)
const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')
const sizeArb = fc.integer({ min: 0, max: 40 })

function modelBytes(m: Model): number {
  return m.entries.reduce((sum, e) => sum + e.bytes, 0)
}

function modelEvict(m: Model): void {
  while (m.entries.length > m.limits.maxItems || modelBytes(m) > m.limits.maxBytes) {
    const victim = m.entries.pop()
    if (!victim) return
    m.evictions++
    m.evictedBytes += victim.bytes
  }
}

function modelSet(m: Model, key: string, bytes: number): void {
  m.entries = m.entries.filter((e) => e.key !== key)
  if (bytes > m.limits.maxBytes) {
    m.rejected++
    return
  }
  m.entries.unshift({ key, bytes })
  modelEvict(m)
}

function modelTouch(m: Model, key: string): boolean {
  const index = m.entries.findIndex((e) => e.key === key)
  if (index < 0) return false
  const [entry] = m.entries.splice(index, 1)
  if (entry) m.entries.unshift(entry)
  return true
}

function check(m: Model, r: Real): void {
  expect(r.keys()).toEqual(m.entries.map((e) => e.key))
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
  ) {}
  check = (): boolean => true
  async run(m: Model, r: Real): Promise<void> {
    r.set(this.key, new Uint8Array(this.size))
    modelSet(m, this.key, this.size)
    check(m, r)
  }
  toString = (): string => `set(${this.key}, ${this.size})`
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
  fc.tuple(keyArb, sizeArb).map(([k, s]) => new SetCommand(k, s)),
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

describe('LruCache against a reference model', () => {
  it(`agrees on contents, order, limits and counters (${NUM_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 120 }),
        fc.commands(commandArbs, { maxCommands: 60 }),
        async (maxItems, maxBytes, commands) => {
          const setup = (): { model: Model; real: Real } => ({
            model: {
              entries: [],
              limits: { maxItems, maxBytes },
              hits: 0,
              misses: 0,
              evictions: 0,
              evictedBytes: 0,
              rejected: 0,
              loads: 0,
              loadFailures: 0,
            },
            real: new LruCache<Uint8Array>({ maxItems, maxBytes }),
          })
          await fc.asyncModelRun(setup, commands)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})
