import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')

export interface BenchReport {
  name: string
  /** Markdown table for the README. */
  table: string
  data: unknown
}

export function writeReport(report: BenchReport): void {
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(
    join(RESULTS_DIR, `${report.name}.json`),
    `${JSON.stringify({ ...describeMachine(), ...(report.data as object) }, null, 2)}\n`,
  )
  writeFileSync(join(RESULTS_DIR, `${report.name}.md`), `${report.table}\n`)
}

export function describeMachine(): { node: string; date: string } {
  return { node: process.version, date: new Date().toISOString() }
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? 0
}

export function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

/** Deterministic PRNG (mulberry32) so every run replays the same stream. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Indices in [0, n) drawn from a Zipf distribution with exponent s (rank 0 most popular). */
export function zipfStream(n: number, length: number, s: number, seed: number): Uint32Array {
  const cdf = new Float64Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** s
    cdf[i] = total
  }
  const random = rng(seed)
  const out = new Uint32Array(length)
  for (let j = 0; j < length; j++) {
    const u = random() * total
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cdf[mid] ?? 0) < u) lo = mid + 1
      else hi = mid
    }
    out[j] = lo
  }
  return out
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}
