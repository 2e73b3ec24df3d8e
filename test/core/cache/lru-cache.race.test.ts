import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cached, LruCache } from '../../../src/core/cache'

/**
 * Race tests: fast-check's scheduler decides the order in which computations finish,
 * callers abort, and direct writes, deletes and clears land. Whatever the interleaving,
 * the cache must stay consistent and each key must compute once per flight.
 */

const KEYS = ['a', 'b', 'c'] as const
type Key = (typeof KEYS)[number]

/** A value remembers which key it was made for, so a value under the wrong key is caught. */
function valueFor(key: Key, size: number): Uint8Array {
  const value = new Uint8Array(Math.max(1, size))
  value[0] = key.charCodeAt(0)
  return value
}

type Op =
  | { kind: 'compute'; key: Key; size: number; fails: boolean; abortAfter: boolean }
  | { kind: 'set'; key: Key; size: number }
  | { kind: 'delete'; key: Key }
  | { kind: 'clear' }
  | { kind: 'limits'; maxItems: number }

const keyArb = fc.constantFrom(...KEYS)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('compute' as const),
      key: keyArb,
      size: fc.integer({ min: 1, max: 30 }),
      fails: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      abortAfter: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, size: fc.integer({ min: 1, max: 30 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('limits' as const), maxItems: fc.integer({ min: 1, max: 3 }) }),
  },
)

describe('LruCache under scheduled interleavings', () => {
  it('never corrupts contents or counters, and runs one computation per flight', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 1, maxLength: 25 }), async (s, ops) => {
        const cache = new LruCache<Uint8Array>({ maxItems: 3, maxBytes: 60 })
        const liveComputes = new Map<Key, number>()
        let computeCalls = 0
        const outcomes: string[] = []
        let refused = 0

        const tasks = ops.map((op, i) => {
          switch (op.kind) {
            case 'compute': {
              const controller = new AbortController()
              const compute = async (signal: AbortSignal): Promise<Uint8Array> => {
                computeCalls++
                // One live (not abandoned) computation per key at any moment.
                expect(liveComputes.get(op.key) ?? 0).toBe(0)
                liveComputes.set(op.key, 1)
                signal.addEventListener('abort', () => liveComputes.set(op.key, 0))
                try {
                  await s.schedule(Promise.resolve(), `compute ${op.key}#${i} finishes`)
                  if (op.fails) throw new Error('generation failed')
                  return valueFor(op.key, op.size)
                } finally {
                  if (!signal.aborted) liveComputes.set(op.key, 0)
                }
              }
              if (op.abortAfter) void s.schedule(Promise.resolve(), `abort #${i}`).then(() => controller.abort())
              return s
                .schedule(Promise.resolve(), `request ${op.key}#${i}`)
                .then(() => {
                  // An abort that landed before the request means no lookup at all.
                  if (controller.signal.aborted) refused++
                  return cache.getOrCompute(op.key, compute, { signal: controller.signal })
                })
                .then(
                  (loaded) => {
                    expect(loaded.value[0]).toBe(op.key.charCodeAt(0))
                    outcomes.push(loaded.outcome)
                  },
                  (error: Error) => outcomes.push(error.name === 'AbortError' ? 'aborted' : 'failed'),
                )
            }
            case 'set':
              return s
                .schedule(Promise.resolve(), `set ${op.key}#${i}`)
                .then(() => cache.set(op.key, valueFor(op.key, op.size)))
            case 'delete':
              return s.schedule(Promise.resolve(), `delete ${op.key}#${i}`).then(() => cache.delete(op.key))
            case 'clear':
              return s.schedule(Promise.resolve(), `clear #${i}`).then(() => cache.clear())
            default:
              return s
                .schedule(Promise.resolve(), `limits #${i}`)
                .then(() => cache.setLimits({ maxItems: op.maxItems }))
          }
        })

        // Each task checks the invariants when its step lands; waitFor releases scheduled
        // steps in the order fast-check picks until every task has finished.
        await s.waitFor(Promise.all(tasks.map((task) => task.then(() => assertConsistent(cache)))))
        await s.waitAll()
        // An abandoned flight settles after its last caller has gone: let it finish.
        await new Promise((resolve) => setTimeout(resolve, 0))

        const stats = cache.stats()
        assertConsistent(cache)
        const requests = ops.filter((op) => op.kind === 'compute').length
        // Every request got exactly one outcome.
        expect(outcomes).toHaveLength(requests)
        // Every request but the refused ones was counted as exactly one lookup.
        expect(stats.hits + stats.misses + stats.coalesced).toBe(requests - refused)
        // Each miss started exactly one computation, and each computation ended exactly one way.
        expect(computeCalls).toBe(stats.misses)
        expect(stats.loads + stats.loadFailures + stats.cancelled).toBe(stats.misses)
        expect(stats.inFlight).toBe(0)
      }),
      { numRuns: 300 },
    )
  })

  it('cached() coalesces concurrent calls in any completion order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(keyArb, { minLength: 1, maxLength: 12 }), async (s, keys) => {
        const cache = new LruCache<Uint8Array>()
        const runs = new Map<string, number>()
        const generate = cached(
          cache,
          async (key: Key, _signal: AbortSignal) => {
            runs.set(key, (runs.get(key) ?? 0) + 1)
            await s.schedule(Promise.resolve(), `generate ${key}`)
            return valueFor(key, 4)
          },
          { key: (key) => key },
        )
        const results = await s.waitFor(Promise.all(keys.map((k) => generate(k))))
        for (const [i, value] of results.entries()) expect(value[0]).toBe(keys[i]?.charCodeAt(0))
        for (const key of new Set(keys)) expect(runs.get(key)).toBe(1)
      }),
      { numRuns: 200 },
    )
  })
})

function assertConsistent(cache: LruCache<Uint8Array>): void {
  const stats = cache.stats()
  const entries = cache.entries()
  const keys = entries.map((e) => e.key)
  expect(new Set(keys).size).toBe(keys.length)
  expect(stats.currentItems).toBe(entries.length)
  expect(stats.currentBytes).toBe(entries.reduce((sum, e) => sum + e.bytes, 0))
  expect(stats.currentItems).toBeLessThanOrEqual(stats.maxItems)
  expect(stats.currentBytes).toBeLessThanOrEqual(stats.maxBytes)
  for (const entry of entries) {
    const value = cache.peek(entry.key)
    expect(value?.[0]).toBe(entry.key.charCodeAt(0))
    expect(value?.byteLength).toBe(entry.bytes)
  }
}
