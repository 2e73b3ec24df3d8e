import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeHunyuan } from '../test/support/fake-hunyuan'
import { ROOT } from './built'
import { syntheticGlb } from './glb'
import { getJson, postJson, requestModel, send, startHost } from './host-client'
import { type BenchReport, fmt, markdownTable, percentile } from './lib'

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
const WARMUP = 10
const HITS = 300
/** Hunyuan3D-2's measured time per model in the original plan (its baseline). */
export const HUNYUAN_SECONDS = 124.6

interface HitResult {
  model: string
  tier: 'memory' | 'disk'
  glbBytes: number
  firstMs: number
  generationMs: number
  hitP50Ms: number
  hitP95Ms: number
  hitMaxMs: number
  hits: number
}

interface Stats {
  disk: { currentItems: number } | null
}

/**
 * Memory: the same request again and again. Disk: two requests in turn with room for one
 * model in memory, so every request evicts the other and is served from the disk tier.
 */
async function measure(url: string, model: string, tier: 'memory' | 'disk', bodies: string[]): Promise<HitResult> {
  const firsts = []
  for (const body of bodies) {
    const first = await requestModel(url, body)
    if (first.cache !== 'miss') throw new Error(`expected a miss first, got ${first.cache}`)
    firsts.push(first)
  }
  if (tier === 'disk') {
    for (let i = 0; i < 400 && ((await getJson<Stats>(`${url}/api/cache/stats`)).disk?.currentItems ?? 0) < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    await postJson(`${url}/api/cache/config`, { maxItems: 1 })
  }
  const times: number[] = []
  for (let i = 0; i < WARMUP + HITS; i++) {
    const hit = await requestModel(url, bodies[i % bodies.length] as string)
    if (hit.cache !== 'hit' || hit.tier !== tier)
      throw new Error(`expected a ${tier} hit, got ${hit.cache}/${hit.tier}`)
    if (i >= WARMUP) times.push(hit.ms)
  }
  if (tier === 'disk') await postJson(`${url}/api/cache/config`, { maxItems: 1000 })
  const first = firsts[0] as (typeof firsts)[number]
  return {
    model,
    tier,
    glbBytes: first.bytes,
    firstMs: first.ms,
    generationMs: first.generationMs,
    hitP50Ms: percentile(times, 50),
    hitP95Ms: percentile(times, 95),
    hitMaxMs: Math.max(...times),
    hits: times.length,
  }
}

/** The same 10 MB model through Hunyuan3D-2's own protocol: one round trip, the bytes in the answer. */
async function measureCompat(url: string, model: string, body: string): Promise<HitResult> {
  const once = async (): Promise<{ ms: number; bytes: number }> => {
    const started = performance.now()
    const answer = await send(`${url}/hunyuan/generate`, 'POST', body, false)
    if (answer.status !== 200) throw new Error(`/hunyuan/generate answered HTTP ${answer.status}`)
    return { ms: performance.now() - started, bytes: answer.bytes }
  }
  const first = await once()
  const times: number[] = []
  for (let i = 0; i < WARMUP + HITS; i++) {
    const hit = await once()
    if (i >= WARMUP) times.push(hit.ms)
  }
  return {
    model: `${model}, through /hunyuan/generate (one round trip)`,
    tier: 'memory',
    glbBytes: first.bytes,
    firstMs: first.ms,
    generationMs: first.ms,
    hitP50Ms: percentile(times, 50),
    hitP95Ms: percentile(times, 95),
    hitMaxMs: Math.max(...times),
    hits: times.length,
  }
}

export async function runHitBench(): Promise<BenchReport> {
  const glb10 = await syntheticGlb(10 * 1024 * 1024)
  const fake = await startFakeHunyuan({ served: glb10 })
  const host = await startHost({ MESHCACHE_HUNYUAN_URL: fake.url })
  const results: HitResult[] = []
  try {
    const lantern = readFileSync(join(FIXTURES, 'trellis-lantern.png')).toString('base64')
    const chair = readFileSync(join(FIXTURES, 'triposr-chair.png')).toString('base64')
    const hunyuan = (seed: number): string =>
      JSON.stringify({ image: chair, prompt: 'chair', quality: 'standard', seed, backend: 'hunyuan3d-2' })
    const big = '10 MB GLB from the Hunyuan3D-2 backend (protocol fake; no GPU here)'
    results.push(
      await measure(host.url, 'builtin generator, quality high (trellis-lantern)', 'memory', [
        JSON.stringify({ image: lantern, prompt: 'lantern', quality: 'high', seed: 1, backend: 'builtin' }),
      ]),
    )
    results.push(await measure(host.url, big, 'memory', [hunyuan(1)]))
    results.push(await measure(host.url, big, 'disk', [hunyuan(2), hunyuan(3)]))
    results.push(await measureCompat(host.url, big, JSON.stringify({ image: chair, octree_resolution: 256 })))
  } finally {
    host.child.kill()
    await fake.close()
  }
  const rows = results.map((r) => [
    r.model,
    r.tier,
    `${fmt(r.glbBytes / 1e6, 1)} MB`,
    fmt(r.firstMs),
    fmt(r.hitP50Ms, 1),
    fmt(r.hitP95Ms, 1),
    `${fmt(r.firstMs / r.hitP50Ms)}x`,
    `${fmt((HUNYUAN_SECONDS * 1000) / r.hitP50Ms)}x`,
  ])
  const table = markdownTable(
    [
      'model',
      'served from',
      'size',
      'first request ms (generation)',
      `hit p50 ms (n=${HITS})`,
      'hit p95 ms',
      'speed-up vs first request',
      `speed-up vs Hunyuan3D-2 (${HUNYUAN_SECONDS} s)`,
    ],
    rows,
  )
  return { name: 'hit', table, data: { hunyuanSeconds: HUNYUAN_SECONDS, warmup: WARMUP, results } }
}
