import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { processEnvironment } from '../scripts/process-environment.mjs'
import { builtFile } from './built'

/** Every host started, so none outlives a benchmark that fails halfway. */
const started = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL')
})

/** Starts the built browser host as its own process and returns its URL. */
export async function startHost(env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  // A fresh data folder: every run starts with empty tiers.
  const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-bench-'))
  const child = spawn(process.execPath, [builtFile('main/server.js')], {
    // As `npm run serve` starts it (the same allocator settings).
    env: processEnvironment({ ...process.env, MESHCACHE_PORT: '0', MESHCACHE_DATA_DIR: dataDir, ...env }),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  started.add(child)
  child.once('exit', () => started.delete(child))
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

/** node:http with keep-alive: the leanest Node client (undici's fetch adds its own overhead). */
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

/**
 * One exchange. The model's bytes are counted as they arrive rather than joined into one
 * buffer: the figure is time to the last byte, and a 10 MB concat per request would bill
 * the client's own garbage collection to the cache.
 */
export function send(
  url: string,
  method: string,
  body?: string,
  keep = true,
  /** False: a connection of its own (for concurrent requests; the shared agent has one socket). */
  pooled = true,
): Promise<{ status: number; body: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: pooled ? agent : false,
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
    // Small requests go out at once (no Nagle wait behind the last response's ACK).
    req.on('socket', (socket) => socket.setNoDelay(true))
    req.end(body)
  })
}

/** One request as a client sees it: POST, then the model's bytes to the last one. */
export async function requestModel(
  url: string,
  body: string,
): Promise<{ ms: number; cache: string; tier: string; bytes: number; generationMs: number }> {
  const started = performance.now()
  const response = await send(`${url}/api/generate-3d-cached`, 'POST', body)
  const result = JSON.parse(response.body.toString('utf8')) as {
    cache: string
    tier: string
    modelUrl: string
    generationMs: number
  }
  if (response.status !== 200) throw new Error(`generate failed: ${response.body.toString('utf8')}`)
  const model = await send(`${url}${result.modelUrl}`, 'GET', undefined, false)
  if (model.status !== 200) throw new Error(`model download failed with HTTP ${model.status}`)
  return {
    ms: performance.now() - started,
    cache: result.cache,
    tier: result.tier,
    bytes: model.bytes,
    generationMs: result.generationMs,
  }
}

/** JSON from the host. */
export async function getJson<T>(url: string): Promise<T> {
  const { status, body } = await send(url, 'GET')
  if (status >= 400) throw new Error(`GET ${url} answered HTTP ${status}: ${body.toString('utf8')}`)
  return JSON.parse(body.toString('utf8')) as T
}

export async function postJson<T>(url: string, body: unknown): Promise<T> {
  return JSON.parse((await send(url, 'POST', JSON.stringify(body))).body.toString('utf8')) as T
}
