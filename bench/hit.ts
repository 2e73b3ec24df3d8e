import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { Document, NodeIO } from '@gltf-transform/core'
import { startFakeHunyuan } from '../test/support/fake-hunyuan'
import { builtFile, ROOT } from './built'
import { type BenchReport, fmt, markdownTable, percentile } from './lib'

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
const WARMUP = 10
const HITS = 120
/** Hunyuan3D-2's measured time per model in the original plan (its baseline). */
export const HUNYUAN_SECONDS = 124.6

/** A valid GLB of about `bytes` bytes: one point cloud of deterministic positions. */
async function syntheticGlb(bytes: number): Promise<Uint8Array> {
  const doc = new Document()
  const buffer = doc.createBuffer()
  const count = Math.floor(bytes / 12)
  const positions = new Float32Array(count * 3)
  for (let i = 0; i < positions.length; i++) positions[i] = Math.sin(i * 12.9898) * 0.5
  const accessor = doc.createAccessor().setType('VEC3').setArray(positions).setBuffer(buffer)
  const prim = doc.createPrimitive().setMode(0).setAttribute('POSITION', accessor)
  doc.createScene().addChild(doc.createNode().setMesh(doc.createMesh().addPrimitive(prim)))
  return new NodeIO().writeBinary(doc)
}

/** Starts the built browser host as its own process and returns its URL. */
async function startHost(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [builtFile('main/server.js')], {
    env: { ...process.env, MESHCACHE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /served at (http:\/\/\S+?)\/?(\s|$)/.exec(out)
      if (match) resolve(match[1] as string)
    })
    child.on('exit', (code) => reject(new Error(`the host exited (${code}) before listening`)))
  })
  return { url, child }
}

interface HitResult {
  model: string
  glbBytes: number
  firstMs: number
  generationMs: number
  hitP50Ms: number
  hitP95Ms: number
  hitMaxMs: number
  hits: number
}

/** node:http with keep-alive: the leanest Node client (undici's fetch adds its own overhead). */
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

/**
 * One exchange. The model's bytes are counted as they arrive rather than joined into one
 * buffer: the figure is time to the last byte, and a 10 MB concat per request would bill
 * the client's own garbage collection to the cache.
 */
function send(
  url: string,
  method: string,
  body?: string,
  keep = true,
): Promise<{ status: number; body: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        const chunks: Buffer[] = []
        let bytes = 0
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.byteLength
          if (keep) chunks.push(chunk)
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), bytes }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** One request as a client sees it: POST, then the model's bytes to the last one. */
async function requestModel(
  url: string,
  body: string,
): Promise<{ ms: number; cache: string; bytes: number; generationMs: number }> {
  const started = performance.now()
  const response = await send(`${url}/api/generate-3d-cached`, 'POST', body)
  const result = JSON.parse(response.body.toString('utf8')) as { cache: string; modelUrl: string; generationMs: number }
  if (response.status !== 200) throw new Error(`generate failed: ${response.body.toString('utf8')}`)
  const model = await send(`${url}${result.modelUrl}`, 'GET', undefined, false)
  if (model.status !== 200) throw new Error(`model download failed with HTTP ${model.status}`)
  return { ms: performance.now() - started, cache: result.cache, bytes: model.bytes, generationMs: result.generationMs }
}

async function measure(url: string, model: string, body: string): Promise<HitResult> {
  const first = await requestModel(url, body)
  if (first.cache !== 'miss') throw new Error(`expected a miss first, got ${first.cache}`)
  const times: number[] = []
  for (let i = 0; i < WARMUP + HITS; i++) {
    const hit = await requestModel(url, body)
    if (hit.cache !== 'hit') throw new Error(`expected a hit, got ${hit.cache}`)
    if (i >= WARMUP) times.push(hit.ms)
  }
  return {
    model,
    glbBytes: first.bytes,
    firstMs: first.ms,
    generationMs: first.generationMs,
    hitP50Ms: percentile(times, 50),
    hitP95Ms: percentile(times, 95),
    hitMaxMs: Math.max(...times),
    hits: times.length,
  }
}

export async function runHitBench(): Promise<BenchReport> {
  const glb10 = await syntheticGlb(10 * 1024 * 1024)
  const fake = await startFakeHunyuan('ok', glb10)
  const host = await startHost({ MESHCACHE_HUNYUAN_URL: fake.url })
  const results: HitResult[] = []
  try {
    const lantern = readFileSync(join(FIXTURES, 'trellis-lantern.png')).toString('base64')
    const chair = readFileSync(join(FIXTURES, 'triposr-chair.png')).toString('base64')
    results.push(
      await measure(
        host.url,
        'builtin generator, quality high (trellis-lantern)',
        JSON.stringify({ image: lantern, prompt: 'lantern', quality: 'high', seed: 1, backend: 'builtin' }),
      ),
    )
    results.push(
      await measure(
        host.url,
        '10 MB GLB from the Hunyuan3D-2 backend (protocol fake; no GPU here)',
        JSON.stringify({ image: chair, prompt: 'chair', quality: 'standard', seed: 1, backend: 'hunyuan3d-2' }),
      ),
    )
  } finally {
    host.child.kill()
    await fake.close()
  }
  const rows = results.map((r) => [
    r.model,
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
