import { mkdtempSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { BuiltinGenerator } from '../src/main/generation/builtin/builtin-generator'
import { ModelService } from '../src/main/service'
import { buildHost, type HostOptions } from '../src/server/app'
import { isLoopback, readHostConfig } from '../src/server/config'
import { BUILTIN_WORKER, fixture } from './support/fixtures'

interface Running {
  url: string
  app: FastifyInstance
  service: ModelService
}

const running: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()))
})

async function start(options: Partial<HostOptions> = {}): Promise<Running> {
  const service = new ModelService({
    generators: [new BuiltinGenerator({ workerPath: BUILTIN_WORKER })],
    modelUrl: (key) => `/models/${key}.glb`,
  })
  const app = await buildHost({ service, ...options })
  await app.listen({ host: '127.0.0.1', port: 0 })
  running.push(app)
  const { port } = app.server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, app, service }
}

const image = Buffer.from(fixture('triposr-flamingo')).toString('base64')
const body = (overrides: Record<string, unknown> = {}): string =>
  JSON.stringify({ image, prompt: 'a flamingo', quality: 'draft', seed: 5, ...overrides })

async function post(url: string, payload: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', ...headers } })
}

/** A raw GET that sends the path as written (fetch would normalize ../ away). */
function rawGet(url: string, path: string): Promise<number> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: 'GET' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('browser host', () => {
  it('generates through the cache: a miss, then a hit with the same model bytes', async () => {
    const { url } = await start()
    const first = await post(`${url}/api/generate-3d-cached`, body())
    expect(first.status).toBe(200)
    const miss = (await first.json()) as Record<string, unknown>
    expect(miss).toMatchObject({ cache: 'miss', backend: 'builtin' })
    expect(Object.keys(miss).sort()).toEqual(
      ['backend', 'bytes', 'cache', 'generationMs', 'key', 'modelUrl', 'requestId', 'servedMs', 'tier'].sort(),
    )
    const hit = (await (await post(`${url}/api/generate-3d-cached`, body())).json()) as Record<string, unknown>
    expect(hit).toMatchObject({ cache: 'hit', key: miss.key, bytes: miss.bytes })
    const model = await fetch(`${url}${miss.modelUrl}`)
    expect(model.status).toBe(200)
    expect(model.headers.get('content-type')).toBe('model/gltf-binary')
    expect((await model.arrayBuffer()).byteLength).toBe(miss.bytes)
  })

  it('accepts a data: URL image too', async () => {
    const { url } = await start()
    const response = await post(`${url}/api/generate-3d-cached`, body({ image: `data:image/png;base64,${image}` }))
    expect(response.status).toBe(200)
  })

  it('coalesces concurrent generate calls into one generation', async () => {
    const { url, service } = await start()
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => post(`${url}/api/generate-3d-cached`, body({ seed: 77 })).then((r) => r.json())),
    )
    const outcomes = answers.map((a) => (a as { cache: string }).cache).sort()
    expect(outcomes).toEqual(['coalesced', 'coalesced', 'coalesced', 'miss'])
    expect(service.stats().loads).toBe(1)
  })

  it('answers statistics, config, entries, delete and clear with the contract names', async () => {
    const { url } = await start()
    const { key } = (await (await post(`${url}/api/generate-3d-cached`, body())).json()) as { key: string }
    const stats = (await (await fetch(`${url}/api/cache/stats`)).json()) as Record<string, number>
    for (const field of [
      'hits',
      'misses',
      'hitRate',
      'evictions',
      'currentItems',
      'currentBytes',
      'maxItems',
      'maxBytes',
    ]) {
      expect(typeof stats[field], field).toBe('number')
    }
    expect(stats.currentItems).toBe(1)
    expect(await (await fetch(`${url}/api/cache/config`)).json()).toEqual({
      maxItems: 1000,
      maxBytes: 512 * 1024 ** 2,
      diskMaxBytes: null,
    })
    const changed = await post(`${url}/api/cache/config`, JSON.stringify({ maxBytes: 64 * 1024 ** 2 }))
    expect(await changed.json()).toEqual({ maxItems: 1000, maxBytes: 64 * 1024 ** 2, diskMaxBytes: null })
    const entries = (await (await fetch(`${url}/api/cache/entries?limit=10&sort=bytes&order=asc`)).json()) as {
      total: number
      items: { key: string }[]
    }
    expect(entries.total).toBe(1)
    expect(entries.items[0]?.key).toBe(key)
    expect((await fetch(`${url}/api/cache/entries/${key}`, { method: 'DELETE' })).status).toBe(200)
    expect((await fetch(`${url}/api/cache/entries/${key}`, { method: 'DELETE' })).status).toBe(404)
    expect(await (await post(`${url}/api/cache/clear`, '{}')).json()).toEqual({ removed: 0, removedFromDisk: 0 })
    const backends = (await (await fetch(`${url}/api/backends`)).json()) as { id: string; isDefault: boolean }[]
    expect(backends).toEqual([expect.objectContaining({ id: 'builtin', isDefault: true, available: true })])
  })

  it('warms requests in the background', async () => {
    const { url, service } = await start()
    const response = await post(`${url}/api/cache/warm`, JSON.stringify({ requests: [JSON.parse(body({ seed: 90 }))] }))
    expect(response.status).toBe(202)
    const { keys } = (await response.json()) as { keys: string[] }
    expect(keys).toHaveLength(1)
    for (let i = 0; i < 200 && service.stats().currentItems === 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(await service.model(keys[0])).toBeDefined()
    expect((await post(`${url}/api/cache/warm`, JSON.stringify({ nope: 1 }))).status).toBe(400)
    expect((await post(`${url}/api/cache/warm`, JSON.stringify({ requests: 'x' }))).status).toBe(400)
    const tooMany = await post(
      `${url}/api/cache/warm`,
      JSON.stringify(Array.from({ length: 33 }, () => JSON.parse(body()))),
    )
    expect(tooMany.status).toBe(400)
    expect(((await tooMany.json()) as { message: string }).message).toMatch(/at most 32/)
  })

  it('refuses bad payloads with 400 and a message, changing nothing', async () => {
    const { url, service } = await start()
    const cases: [string, string, number, string][] = [
      ['/api/generate-3d-cached', body({ quality: 'ultra' }), 400, 'INVALID_REQUEST'],
      ['/api/generate-3d-cached', body({ seed: -3 }), 400, 'INVALID_REQUEST'],
      ['/api/generate-3d-cached', body({ image: 'not base64 !!' }), 400, 'INVALID_REQUEST'],
      ['/api/generate-3d-cached', body({ image: Buffer.from('hello').toString('base64') }), 415, 'UNSUPPORTED_FORMAT'],
      ['/api/generate-3d-cached', '{"image": ', 400, 'INVALID_REQUEST'],
      ['/api/generate-3d-cached', '[]', 400, 'INVALID_REQUEST'],
      ['/api/cache/config', JSON.stringify({ maxItems: 0 }), 400, 'INVALID_REQUEST'],
      ['/api/cache/config', JSON.stringify({ maxBytes: 'lots' }), 400, 'INVALID_REQUEST'],
    ]
    for (const [path, payload, status, code] of cases) {
      const response = await post(`${url}${path}`, payload)
      expect(response.status, `${path} ${payload.slice(0, 40)}`).toBe(status)
      const answer = (await response.json()) as { code: string; message: string }
      expect(answer.code).toBe(code)
      expect(answer.message.length).toBeGreaterThan(5)
    }
    expect((await fetch(`${url}/api/cache/entries?limit=abc`)).status).toBe(400)
    expect(service.stats()).toMatchObject({ misses: 0, maxItems: 1000 })
  })

  it('answers 404 for unknown keys and path-traversal attempts on /models/', async () => {
    const { url } = await start()
    expect((await fetch(`${url}/models/${'a'.repeat(64)}.glb`)).status).toBe(404)
    for (const path of [
      '/models/../package.json',
      '/models/..%2F..%2Fpackage.json',
      '/models/%2e%2e%2fpackage.json',
      '/models/....//....//etc/passwd',
      `/models/${'a'.repeat(64)}.glb/../../package.json`,
    ]) {
      expect(await rawGet(url, path), path).toBe(404)
    }
    expect((await fetch(`${url}/no/such/page`)).status).toBe(404)
  })

  it('refuses a body over the size limit with 413', async () => {
    const { url } = await start()
    const huge = 'A'.repeat(36 * 1024 * 1024)
    const response = await post(`${url}/api/generate-3d-cached`, JSON.stringify({ image: huge }))
    expect(response.status).toBe(413)
    expect(((await response.json()) as { code: string }).code).toBe('FILE_TOO_LARGE')
    const config = await post(`${url}/api/cache/config`, JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }))
    expect(config.status).toBe(413)
  })

  it('rate-limits management endpoints with a clear 429', async () => {
    const { url } = await start({ managementRateLimit: { max: 3, timeWindowMs: 60_000 } })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${url}/api/cache/stats`)).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const limited = await fetch(`${url}/api/cache/config`)
    expect(limited.status).toBe(429)
    expect(await limited.json()).toEqual({
      code: 'RATE_LIMITED',
      message: 'Too many requests: wait a moment and try again.',
    })
    // Generation is not a management endpoint.
    expect((await fetch(`${url}/api/backends`)).status).toBe(200)
  })

  it('requires the token on every request when one is set', async () => {
    const token = 'correct-horse-battery-staple'
    const { url } = await start({ token })
    expect((await fetch(`${url}/api/cache/stats`)).status).toBe(403)
    expect(
      (await fetch(`${url}/api/cache/stats`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status,
    ).toBe(403)
    expect((await fetch(`${url}/api/cache/stats`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const opened = await fetch(`${url}/api/backends?token=${token}`)
    expect(opened.status).toBe(200)
    const cookie = opened.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/HttpOnly/)
    expect(
      (await fetch(`${url}/api/cache/stats`, { headers: { cookie: cookie.split(';')[0] as string } })).status,
    ).toBe(200)
  })

  it('answers only to loopback host names (DNS-rebinding guard)', async () => {
    const { url } = await start({ allowedHosts: ['127.0.0.1', 'localhost'] })
    expect((await fetch(`${url}/api/backends`)).status).toBe(200)
    const { hostname, port } = new URL(url)
    const status = await new Promise<number>((resolve) => {
      httpRequest({ hostname, port, path: '/api/backends', headers: { host: 'attacker.example' } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      }).end()
    })
    expect(status).toBe(403)
  })

  it('serves the renderer with a Content-Security-Policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-static-'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>MeshCache</title>')
    const { url } = await start({ staticDir: dir })
    const page = await fetch(`${url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(await page.text()).toContain('MeshCache')
  })

  it('streams progress and cache changes as server-sent events, and cancels by request id', async () => {
    const { url } = await start()
    const controller = new AbortController()
    const events = await fetch(`${url}/api/events`, { signal: controller.signal })
    expect(events.headers.get('content-type')).toBe('text/event-stream')
    const reader = (events.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
        if (done) return
        text += new TextDecoder().decode(value)
      }
    })()
    const result = await post(`${url}/api/generate-3d-cached`, body({ requestId: 'sse-1', seed: 31 }))
    expect(result.status).toBe(200)
    await new Promise((r) => setTimeout(r, 50))
    expect(text).toMatch(/event: progress\ndata: \{"requestId":"sse-1"/)
    expect(text).toContain('event: cache-changed')

    const slow = post(`${url}/api/generate-3d-cached`, body({ requestId: 'slow-1', quality: 'high', seed: 32 }))
    await new Promise((r) => setTimeout(r, 100))
    const cancel = await post(`${url}/api/requests/slow-1/cancel`, '{}')
    expect(await cancel.json()).toEqual({ cancelled: true })
    const cancelled = await slow
    expect(cancelled.status).toBe(409)
    expect(((await cancelled.json()) as { code: string }).code).toBe('CANCELLED')
    controller.abort()
    await reading
  })
})

describe('host configuration', () => {
  it('binds to loopback by default and refuses another address without a token', () => {
    expect(readHostConfig({})).toMatchObject({ host: '127.0.0.1', port: 5917, token: undefined })
    expect(readHostConfig({ MESHCACHE_PORT: '0' }).port).toBe(0)
    expect(() => readHostConfig({ MESHCACHE_HOST: '0.0.0.0' })).toThrow(/MESHCACHE_TOKEN/)
    expect(() => readHostConfig({ MESHCACHE_HOST: '0.0.0.0', MESHCACHE_TOKEN: 'short' })).toThrow(/16 characters/)
    expect(readHostConfig({ MESHCACHE_HOST: '0.0.0.0', MESHCACHE_TOKEN: 'x'.repeat(20) })).toMatchObject({
      host: '0.0.0.0',
      allowedHosts: undefined,
    })
    expect(() => readHostConfig({ MESHCACHE_PORT: 'eighty' })).toThrow(/port number/)
    expect(() => readHostConfig({ MESHCACHE_PORT: '70000' })).toThrow(/port number/)
    expect(readHostConfig({ MESHCACHE_DATA_DIR: '/data/mc' }).dataDir).toBe('/data/mc')
    expect(readHostConfig({ MESHCACHE_DATA_DIR: 'off', HOME: '/home/u' }).dataDir).toBeUndefined()
    expect(readHostConfig({ HOME: '/home/u' }).dataDir).toBe('/home/u/.local/share/meshcache')
    expect(readHostConfig({ HOME: '/home/u', XDG_DATA_HOME: '/xdg' }).dataDir).toBe('/xdg/meshcache')
    expect(readHostConfig({ APPDATA: 'C:/Users/u/AppData/Roaming' }).dataDir).toBe(
      'C:/Users/u/AppData/Roaming/MeshCache',
    )
    expect(isLoopback('127.0.0.2')).toBe(true)
    expect(isLoopback('192.168.1.2')).toBe(false)
  })
})
