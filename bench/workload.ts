import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './built'
import { HUNYUAN_SECONDS } from './hit'
import { requestModel, startHost } from './host-client'
import { type BenchReport, fmt, markdownTable, median, percentile, zipfStream } from './lib'

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
const SEEDS = 5
const REQUESTS = 240

/**
 * The original plan's table, measured: a replayed workload of repeated and new requests
 * (Zipf over 8 pictures × 5 seeds) through the built browser host with the builtin generator,
 * and the same hit rate applied to Hunyuan3D-2's 124.6 s a model, the plan's baseline.
 */
export async function runWorkloadBench(): Promise<BenchReport> {
  const pictures = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => readFileSync(join(FIXTURES, f)).toString('base64'))
  const distinct = pictures.flatMap((image, p) =>
    Array.from({ length: SEEDS }, (_, seed) =>
      JSON.stringify({ image, prompt: `object ${p}`, quality: 'standard', seed, backend: 'builtin' }),
    ),
  )
  const stream = zipfStream(distinct.length, REQUESTS, 1.0, 7)
  const host = await startHost()
  const misses: number[] = []
  const hits: number[] = []
  const all: number[] = []
  try {
    for (const index of stream) {
      const result = await requestModel(host.url, distinct[index] as string)
      all.push(result.ms)
      ;(result.cache === 'miss' ? misses : hits).push(result.ms)
    }
  } finally {
    host.child.kill()
  }
  const hitRate = hits.length / all.length
  const hitMs = median(hits)
  const missMs = median(misses)
  const meanMs = all.reduce((a, b) => a + b, 0) / all.length
  const hunyuanMs = HUNYUAN_SECONDS * 1000
  const hunyuanAverageMs = (1 - hitRate) * hunyuanMs + hitRate * hitMs
  const seconds = (ms: number): string => (ms >= 1000 ? `${fmt(ms / 1000, 1)} s` : `${fmt(ms, 1)} ms`)

  const table = markdownTable(
    ['', `Hunyuan3D-2 (the plan's ${HUNYUAN_SECONDS} s a model)`, 'builtin generator (measured here)'],
    [
      ['first request (a miss: generation)', seconds(hunyuanMs), `${seconds(missMs)} (median of ${misses.length})`],
      [
        'repeated request (a memory hit, to the last byte)',
        seconds(hitMs),
        `${seconds(hitMs)} (median of ${hits.length})`,
      ],
      [
        `average at the measured hit rate (${fmt(hitRate * 100, 1)}% of ${REQUESTS})`,
        `${seconds(hunyuanAverageMs)} (modelled)`,
        `${seconds(meanMs)} (measured mean)`,
      ],
      ['speed-up of a repeated request', `${fmt(hunyuanMs / hitMs)}x`, `${fmt(missMs / hitMs)}x`],
      ['speed-up of the average request', `${fmt(hunyuanMs / hunyuanAverageMs, 1)}x`, `${fmt(missMs / meanMs, 1)}x`],
    ],
  )
  return {
    name: 'workload',
    table,
    data: {
      requests: REQUESTS,
      distinctRequests: distinct.length,
      zipfExponent: 1.0,
      hitRate,
      missMedianMs: missMs,
      hitMedianMs: hitMs,
      hitP95Ms: percentile(hits, 95),
      meanMs,
      hunyuanSeconds: HUNYUAN_SECONDS,
      hunyuanAverageMs,
    },
  }
}
