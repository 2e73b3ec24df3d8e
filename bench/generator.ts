import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { BuiltinGenerator } from '../src/core/generation/builtin/builtin-generator'
import { reconstruct } from '../src/core/generation/builtin/reconstruct'
import { QUALITIES, type Quality } from '../src/shared/contract'
import { builtFile, ROOT } from './built'
import { type BenchReport, fmt, markdownTable, median, percentile } from './lib'

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
/** Passes over the eight images per quality: more samples for the event-loop percentiles. */
const PASSES = 3

interface LoopDelay {
  p50: number
  p99: number
  max: number
}

/** Runs `work` while sampling the main thread's event-loop delay every 10 ms. */
async function withLoopDelay(work: () => Promise<void>): Promise<LoopDelay> {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  await work()
  histogram.disable()
  const ms = (ns: number): number => ns / 1e6
  return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
}

export async function runGeneratorBench(): Promise<BenchReport> {
  const images = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(FIXTURES, f))) }))
  const generator = new BuiltinGenerator({ workerPath: builtFile('main/builtin-worker.js') })
  const signal = new AbortController().signal

  const perQuality: Record<
    string,
    { medianMs: number; p95Ms: number; vertices: number; glbBytes: number; loop: LoopDelay }
  > = {}
  for (const quality of QUALITIES) {
    const times: number[] = []
    const vertices: number[] = []
    const sizes: number[] = []
    // One warm-up so worker start-up and JIT are not billed to the first image.
    await generator.generate(
      { image: images[0]?.bytes as Uint8Array, prompt: '', quality, seed: 0, texture: false },
      { signal },
    )
    const loop = await withLoopDelay(async () => {
      for (const image of Array.from({ length: PASSES }, () => images).flat()) {
        const started = performance.now()
        const model = await generator.generate(
          { image: image.bytes, prompt: '', quality, seed: 0, texture: false },
          { signal },
        )
        times.push(performance.now() - started)
        vertices.push(model.vertices ?? 0)
        sizes.push(model.glb.byteLength)
      }
    })
    perQuality[quality] = {
      medianMs: median(times),
      p95Ms: percentile(times, 95),
      vertices: Math.round(median(vertices)),
      glbBytes: Math.round(median(sizes)),
      loop,
    }
  }

  // Baseline: the same work on the main thread, to show what the worker keeps off it.
  const baselineQuality: Quality = 'standard'
  const inline = await withLoopDelay(async () => {
    for (const image of images) await reconstruct(image.bytes, baselineQuality)
  })

  const rows = QUALITIES.map((q) => {
    const r = perQuality[q] as (typeof perQuality)[string]
    return [
      q,
      fmt(r.medianMs),
      fmt(r.p95Ms),
      fmt(r.vertices),
      `${fmt(r.glbBytes / 1e6, 2)} MB`,
      fmt(r.loop.p50, 1),
      fmt(r.loop.p99, 1),
      fmt(r.loop.max, 1),
    ]
  })
  rows.push([
    `${baselineQuality}, on the main thread (baseline)`,
    '',
    '',
    '',
    '',
    fmt(inline.p50, 1),
    fmt(inline.p99, 1),
    fmt(inline.max, 1),
  ])
  const table = markdownTable(
    [
      'quality',
      'median ms / model',
      'p95 ms',
      'vertices (median)',
      'GLB size (median)',
      'event-loop delay p50 ms',
      'p99 ms',
      'max ms',
    ],
    rows,
  )
  return { name: 'generator', table, data: { images: images.map((i) => i.name), perQuality, inlineBaseline: inline } }
}
