import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { type LoggedRequest, replayPolicies } from '../src/core/cache/what-if'
import { ROOT } from './built'
import { type BenchReport, fmt, markdownTable, median } from './lib'

/**
 * Eviction policies replayed on public cache traces (Caffeine's simulator traces, see
 * bench/traces/SOURCES.md) through the real cache code: the same replay the cache panel's
 * comparison runs on the app's own requests. None of the traces has model sizes or
 * generation times, so each key gets a deterministic size and cost from its hash:
 * - size: log-normal, median 5 MB, sigma 1, clipped to [0.2, 50] MB;
 * - cost: 15–40 s for 60% of keys, 90–180 s for 30%, 300–900 s for 10%; within its band a
 *   key's place is half its own hash and half its size's rank, so bigger models take longer.
 */

const TRACES = join(ROOT, 'bench/traces')
const BUDGETS = [0.01, 0.05, 0.1, 0.25]
const MB = 1024 * 1024

function uniforms(key: string): number[] {
  const digest = createHash('sha256').update(key).digest()
  return [0, 4, 8, 12].map((at) => (digest.readUInt32BE(at) + 0.5) / 2 ** 32)
}

export function sizeAndCost(key: string): { bytes: number; generationMs: number } {
  const [u1, u2, u3, u4] = uniforms(key) as [number, number, number, number]
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  const bytes = Math.round(Math.min(50 * MB, Math.max(0.2 * MB, 5 * MB * Math.exp(normal))))
  const sizeRank = (Math.log(bytes / MB) - Math.log(0.2)) / (Math.log(50) - Math.log(0.2))
  const [lo, hi] = u3 < 0.6 ? [15, 40] : u3 < 0.9 ? [90, 180] : [300, 900]
  const seconds = lo + (hi - lo) * (0.5 * u4 + 0.5 * sizeRank)
  return { bytes, generationMs: Math.round(seconds * 1000) }
}

/** The keys of a trace, in order: gzip text one key a line (* lines are checkpoints), or xz `time id size`. */
function readTrace(file: string): string[] {
  const path = join(TRACES, file)
  const text = file.endsWith('.xz')
    ? spawnSync('xz', ['-dc', path], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout
    : gunzipSync(readFileSync(path)).toString('utf8')
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('*'))
    .map((line) => (file.endsWith('.xz') ? (line.split(/\s+/)[1] as string) : line))
}

export async function runPolicyBench(): Promise<BenchReport> {
  const rows: (string | number)[][] = []
  const cells: { trace: string; budget: number; lru: number; gdsf: number }[] = []
  const results: Record<string, unknown>[] = []
  for (const file of readdirSync(TRACES)
    .filter((f) => /\.trace\.(gz|xz)$/.test(f))
    .sort()) {
    const log: LoggedRequest[] = readTrace(file).map((key) => ({ key, ...sizeAndCost(key) }))
    const distinct = new Map(log.map((r) => [r.key, r.bytes]))
    const distinctBytes = [...distinct.values()].reduce((a, b) => a + b, 0)
    const totalCost = log.reduce((sum, r) => sum + r.generationMs, 0)
    for (const budget of BUDGETS) {
      const outcomes = replayPolicies(log, { maxItems: 100_000_000, maxBytes: Math.round(distinctBytes * budget) })
      const byPolicy = Object.fromEntries(outcomes.map((o) => [o.policy, { ...o, costHitRate: o.savedMs / totalCost }]))
      const lru = byPolicy.lru as (typeof byPolicy)[string] & { costHitRate: number }
      const gdsf = byPolicy.gdsf as (typeof byPolicy)[string] & { costHitRate: number }
      cells.push({ trace: file, budget, lru: lru.costHitRate, gdsf: gdsf.costHitRate })
      results.push({ trace: file, requests: log.length, distinct: distinct.size, budget, lru, gdsf })
      const pct = (n: number): string => `${fmt(n * 100, 1)}%`
      rows.push([
        file.replace(/\.trace\.(gz|xz)$/, ''),
        `${budget * 100}%`,
        `${pct(lru.hitRate)} / ${pct(gdsf.hitRate)}`,
        `${pct(lru.byteHitRate)} / ${pct(gdsf.byteHitRate)}`,
        `${pct(lru.costHitRate)} / ${pct(gdsf.costHitRate)}`,
        lru.costHitRate > 0
          ? `${gdsf.costHitRate >= lru.costHitRate ? '+' : ''}${fmt((gdsf.costHitRate / lru.costHitRate - 1) * 100, 1)}%`
          : 'n/a',
      ])
    }
  }
  const gains = cells.filter((c) => c.budget <= 0.1 && c.lru > 0).map((c) => c.gdsf / c.lru - 1)
  const worst = Math.min(...cells.map((c) => (c.gdsf - c.lru) * 100))
  const summary = `GPU time saved by GDSF over LRU, median over the 1-10 % budgets and every trace: ${fmt(median(gains) * 100, 1)}% (target ≥ 15 %). Worst cell against LRU: ${fmt(worst, 2)} points (target: no cell more than 1 point below).`
  const table = [
    markdownTable(
      [
        'trace',
        'budget (of distinct bytes)',
        'object hit ratio LRU / GDSF',
        'byte hit ratio LRU / GDSF',
        'GPU time saved LRU / GDSF',
        'GDSF vs LRU',
      ],
      rows,
    ),
    '',
    summary,
  ].join('\n')
  return { name: 'policy', table, data: { budgets: BUDGETS, medianGain: median(gains), worstPoints: worst, results } }
}
