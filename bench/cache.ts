import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { LruCache } from '../src/core/cache'
import { type BenchReport, fmt, gc, markdownTable, median, zipfStream } from './lib'

/**
 * Our cache against lru-cache v11 with the same limits (`max`, `maxSize` + `sizeCalculation`),
 * same keys, same values, same streams, interleaved rounds; statistics stay on in ours.
 */

interface Adapter {
  get(key: string): Uint8Array | undefined
  set(key: string, value: Uint8Array): void
}

const CAPACITY = 10_000
const KEY_SPACE = 100_000
const OPS = 500_000
const ROUNDS = 15

function key(i: number): string {
  return createHash('sha256').update(String(i)).digest('hex')
}

function ours(max: number): Adapter {
  const cache = new LruCache<Uint8Array>({ maxItems: max, maxBytes: 1 << 30 })
  return { get: (k) => cache.get(k), set: (k, v) => void cache.set(k, v) }
}

function theirs(max: number): Adapter {
  const cache = new LRUCache<string, Uint8Array>({ max, maxSize: 1 << 30, sizeCalculation: (v) => v.byteLength })
  return { get: (k) => cache.get(k), set: (k, v) => void cache.set(k, v) }
}

interface Workload {
  name: string
  /** Builds a fresh, pre-filled cache and returns the timed loop. */
  prepare(make: (max: number) => Adapter): () => void
}

export async function runCacheBench(): Promise<BenchReport> {
  const keys = Array.from({ length: KEY_SPACE + OPS }, (_, i) => key(i))
  const values = Array.from({ length: 64 }, (_, i) => new Uint8Array(1024 + i * 32))
  const hot = zipfStream(CAPACITY, OPS, 1.0, 1)
  const wide = zipfStream(KEY_SPACE, OPS, 1.0, 2)
  const fill = (c: Adapter): void => {
    for (let i = 0; i < CAPACITY; i++) c.set(keys[i] as string, values[i & 63] as Uint8Array)
  }

  const workloads: Workload[] = [
    {
      name: 'get, hit (Zipf over resident keys)',
      prepare: (make) => {
        const c = make(CAPACITY)
        fill(c)
        return () => {
          for (let i = 0; i < OPS; i++) c.get(keys[hot[i] as number] as string)
        }
      },
    },
    {
      name: 'get, miss',
      prepare: (make) => {
        const c = make(CAPACITY)
        fill(c)
        return () => {
          for (let i = 0; i < OPS; i++) c.get(keys[KEY_SPACE + i] as string)
        }
      },
    },
    {
      name: 'set with eviction (new keys, full cache)',
      prepare: (make) => {
        const c = make(CAPACITY)
        fill(c)
        return () => {
          for (let i = 0; i < OPS; i++) c.set(keys[KEY_SPACE + i] as string, values[i & 63] as Uint8Array)
        }
      },
    },
    {
      name: '90% get / 10% set (Zipf over 10x capacity)',
      prepare: (make) => {
        const c = make(CAPACITY)
        fill(c)
        return () => {
          for (let i = 0; i < OPS; i++) {
            const k = keys[wide[i] as number] as string
            if (i % 10 === 0) c.set(k, values[i & 63] as Uint8Array)
            else c.get(k)
          }
        }
      },
    },
  ]

  const rows: (string | number)[][] = []
  const data: Record<string, { oursOpsPerSec: number; lruCacheOpsPerSec: number; ratio: number }> = {}
  for (const workload of workloads) {
    const samples = { ours: [] as number[], theirs: [] as number[] }
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first so neither side always runs on a warmer heap.
      const order: ('ours' | 'theirs')[] = round % 2 ? ['theirs', 'ours'] : ['ours', 'theirs']
      for (const side of order) {
        const loop = workload.prepare(side === 'ours' ? ours : theirs)
        gc()
        const start = process.hrtime.bigint()
        loop()
        const seconds = Number(process.hrtime.bigint() - start) / 1e9
        if (round > 0) samples[side].push(OPS / seconds) // round 0 warms the JIT
      }
    }
    const o = median(samples.ours)
    const t = median(samples.theirs)
    data[workload.name] = { oursOpsPerSec: Math.round(o), lruCacheOpsPerSec: Math.round(t), ratio: o / t }
    rows.push([workload.name, fmt(o), fmt(t), `${fmt(o / t, 2)}x`])
  }
  const table = markdownTable(['operation', 'MeshCache ops/s', 'lru-cache ops/s', 'ours / lru-cache'], rows)
  return {
    name: 'cache',
    table,
    data: { capacity: CAPACITY, keySpace: KEY_SPACE, opsPerRound: OPS, rounds: ROUNDS, results: data },
  }
}
