import { mkdtempSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ModelService } from '../../src/core/service/model-service'
import { buildHost, type HostOptions } from '../../src/server/app'
import { uploadsInProgress } from '../../src/server/upload-admission'
import { appAddresses } from '../../src/shared/addresses'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { makeService } from '../support/stacks'
import { until } from '../support/until'

interface Running {
  url: string
  app: FastifyInstance
  service: ModelService
  generator: GatedGenerator
}

const running: Running[] = []
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.generator.release()
    await r.app.close()
    await r.service.close()
  }
})

async function start(options: Partial<HostOptions> = {}): Promise<Running> {
  const generator = new GatedGenerator()
  const service = await makeService({ generators: [generator], disk: false }, appAddresses)
  const app = await buildHost({ service, ...options })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const run = { url: `http://127.0.0.1:${port}`, app, service, generator }
  running.push(run)
  return run
}

const image = Buffer.from(fixture('triposr-flamingo')).toString('base64')
const body = (overrides: Record<string, unknown> = {}): string =>
  JSON.stringify({ image, prompt: 'a flamingo', quality: 'draft', seed: 5, ...overrides })

function post(url: string, payload: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', ...headers } })
}

/** A raw request that sends the path and headers exactly as written (fetch normalizes some). */
function raw(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString()
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

describe('browser host', () => {
  it('generates through the cache: a miss, then a hit; the model and its thumbnail are served', async () => {
    const { url } = await start()
    const first = (await (await post(`${url}/api/generate-3d-cached`, body())).json()) as {
      key: string
      cache: string
      modelUrl: string
    }
    expect(first.cache).toBe('miss')
    const second = (await (await post(`${url}/api/generate-3d-cached`, body())).json()) as { cache: string }
    expect(second.cache).toBe('hit')
    const model = await fetch(`${url}${first.modelUrl}`)
    expect(model.headers.get('content-type')).toBe('model/gltf-binary')
    expect(new TextDecoder().decode((await model.arrayBuffer()).slice(0, 4))).toBe('glTF')
    const thumbnail = await fetch(`${url}/thumbnails/${first.key}.webp`)
    expect(thumbnail.headers.get('content-type')).toBe('image/webp')
  })

  it('serves a model as OBJ, STL, PLY and USDZ by extension, an OBJ with its MTL and texture beside it', async () => {
    const { url } = await start()
    const { key } = (await (await post(`${url}/api/generate-3d-cached`, body())).json()) as { key: string }
    const at = async (path: string) => {
      const response = await fetch(`${url}/models/${path}`)
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
    }
    expect(await at(`${key}.stl`)).toMatchObject({ status: 200, type: 'model/stl' })
    expect(await at(`${key}.ply`)).toMatchObject({ status: 200, type: 'application/x-ply' })
    expect(await at(`${key}.usdz`)).toMatchObject({ status: 200, type: 'model/vnd.usdz+zip' })
    // The gated generator's models carry no texture: the OBJ names no MTL, and there is none.
    expect((await at(`${key}.obj`)).text).not.toContain('mtllib')
    expect((await at(`${key}.mtl`)).status).toBe(404)
    expect((await at(`${'b'.repeat(64)}.obj`)).status).toBe(404)
    // A name that could break out of the header or the folder falls back to the key.
    const named = await fetch(`${url}/models/${key}.stl?name=${encodeURIComponent('a"b/../c')}`)
    expect(named.headers.get('content-disposition')).toBe(`attachment; filename="${key}.stl"`)
    const plain = await fetch(`${url}/models/${key}.stl?name=robot-1`)
    expect(plain.headers.get('content-disposition')).toBe('attachment; filename="robot-1.stl"')
  })

  it('accepts a data: URL image', async () => {
    const { url } = await start()
    const response = await post(`${url}/api/generate-3d-cached`, body({ image: `data:image/png;base64,${image}` }))
    expect(response.status).toBe(200)
  })

  it('refuses bad payloads with their status and a message, changing nothing', async () => {
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
      ['/api/cache/warm', JSON.stringify([body()]), 400, 'INVALID_REQUEST'],
    ]
    for (const [path, payload, status, code] of cases) {
      const response = await post(`${url}${path}`, payload)
      expect(response.status, `${path} ${payload.slice(0, 40)}`).toBe(status)
      const answer = (await response.json()) as { code: string; message: string }
      expect(answer.code).toBe(code)
      expect(answer.message.length).toBeGreaterThan(5)
    }
    expect((await fetch(`${url}/api/cache/entries?limit=abc`)).status).toBe(400)
    expect(await service.stats()).toMatchObject({ misses: 0, maxItems: 1000 })
  })

  it('answers 404 for unknown keys and path-traversal attempts on /models/ and /thumbnails/', async () => {
    const { url } = await start()
    expect((await fetch(`${url}/models/${'a'.repeat(64)}.glb`)).status).toBe(404)
    for (const path of [
      '/models/../package.json',
      '/models/..%2F..%2Fpackage.json',
      '/models/%2e%2e%2fpackage.json',
      '/models/....//....//etc/passwd',
      `/models/${'a'.repeat(64)}.glb/../../package.json`,
      `/models/${'a'.repeat(64)}.webp`,
      '/thumbnails/..%2Fsettings.json',
    ]) {
      expect((await raw(url, path)).status, path).toBe(404)
    }
    expect((await fetch(`${url}/no/such/page`)).status).toBe(404)
  })

  it('refuses a body over its route limit with 413, naming that limit', async () => {
    const { url } = await start()
    const huge = 'A'.repeat(36 * 1024 * 1024)
    const generate = await post(`${url}/api/generate-3d-cached`, JSON.stringify({ image: huge }))
    expect(generate.status).toBe(413)
    expect(await generate.json()).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The request body is too large: /api/generate-3d-cached accepts at most 33.4 MB.',
    })
    const config = await post(`${url}/api/cache/config`, JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }))
    expect(config.status).toBe(413)
    expect(await config.json()).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The request body is too large: /api/cache/config accepts at most 64 KB.',
    })
  })

  it('keeps a framework status: an unsupported content type is 415 in the app error shape', async () => {
    const { url } = await start()
    const response = await fetch(`${url}/api/cache/config`, {
      method: 'POST',
      body: 'maxItems=5',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(response.status).toBe(415)
    expect(await response.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' })
  })

  it('refuses the cross-site request forgeries that could clear the cache', async () => {
    const { url, service } = await start()
    await post(`${url}/api/generate-3d-cached`, body())
    const attempts: { name: string; headers: Record<string, string>; body: string }[] = [
      {
        name: 'a foreign Origin',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
        body: '{"scope":"all"}',
      },
      { name: 'Origin null', headers: { 'content-type': 'application/json', origin: 'null' }, body: '{"scope":"all"}' },
      { name: 'a text/plain form', headers: { 'content-type': 'text/plain' }, body: '{"scope":"all"}' },
      {
        name: 'a urlencoded form',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'scope=all',
      },
      { name: 'no body (a no-cors fetch)', headers: {}, body: '' },
      { name: 'a missing scope', headers: { 'content-type': 'application/json' }, body: '{}' },
      { name: 'a null scope', headers: { 'content-type': 'application/json' }, body: '{"scope":null}' },
      { name: 'a misspelt field', headers: { 'content-type': 'application/json' }, body: '{"scpoe":"memory"}' },
    ]
    for (const attempt of attempts) {
      const response = await raw(url, '/api/cache/clear', {
        method: 'POST',
        headers: attempt.headers,
        body: attempt.body,
      })
      expect(response.status, attempt.name).toBeGreaterThanOrEqual(400)
      expect(JSON.parse(response.body), attempt.name).toHaveProperty('code')
    }
    expect((await service.stats()).currentItems).toBe(1)
    // The app's own page (same origin) may.
    const own = await post(`${url}/api/cache/clear`, '{"scope":"all"}', { origin: url })
    expect(own.status).toBe(200)
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
    expect((await fetch(`${url}/api/backends`)).status).toBe(200)
  })

  it('requires the token on every request when one is set; a malformed cookie is a 403, not a crash', async () => {
    const token = 'correct-horse-battery-staple'
    const { url } = await start({ token })
    expect((await fetch(`${url}/api/cache/stats`)).status).toBe(403)
    const wrong = { authorization: 'Bearer wrong-token-wrong-token' }
    expect((await fetch(`${url}/api/cache/stats`, { headers: wrong })).status).toBe(403)
    expect((await fetch(`${url}/api/cache/stats`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const opened = await fetch(`${url}/api/backends?token=${token}`)
    expect(opened.status).toBe(200)
    const cookie = opened.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/HttpOnly/)
    expect(
      (await fetch(`${url}/api/cache/stats`, { headers: { cookie: cookie.split(';')[0] as string } })).status,
    ).toBe(200)
    for (const bad of ['meshcache_token=%', 'meshcache_token=%E0%A4%A', 'meshcache_token']) {
      const response = await raw(url, '/api/cache/stats', { headers: { cookie: bad } })
      expect(response.status, bad).toBe(403)
      expect(JSON.parse(response.body)).toEqual({ code: 'FORBIDDEN', message: 'A valid access token is required.' })
    }
  })

  it('answers only to loopback host names (DNS-rebinding guard)', async () => {
    const { url } = await start({ allowedHosts: ['127.0.0.1', 'localhost'] })
    expect((await fetch(`${url}/api/backends`)).status).toBe(200)
    expect((await raw(url, '/api/backends', { headers: { host: 'attacker.example' } })).status).toBe(403)
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

  it('gives a place to parse only to pictures that have arrived, and none waits behind a generation', async () => {
    const { url, service, generator } = await start()
    const similar = vi.spyOn(service, 'similar')
    // Two uploads that have sent half of their bodies hold no place: they have not arrived.
    const payload = body({ seed: 40 })
    const { hostname, port } = new URL(url)
    const halfSent = [0, 1].map(() => {
      const req = httpRequest({
        hostname,
        port,
        path: '/api/similar',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      })
      const answered = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.on('error', reject)
      })
      req.write(payload.slice(0, payload.length / 2))
      return { req, answered }
    })
    const third = await post(`${url}/api/similar`, body({ seed: 41 }))
    expect(third.status).toBe(200)
    expect(similar).toHaveBeenCalledTimes(1)
    // Their halves are at most bytes read, not places to parse.
    expect(uploadsInProgress()).toMatchObject({ reading: 0, waiting: 0 })
    for (const { req } of halfSent) req.end(payload.slice(payload.length / 2))
    expect(await Promise.all(halfSent.map((h) => h.answered))).toEqual([200, 200])
    expect(similar).toHaveBeenCalledTimes(3)
    // Uploads whose generations are under way hold no place: another picture is still read.
    generator.hold()
    const held = [42, 43].map((seed) => post(`${url}/api/generate-3d-cached`, body({ seed })))
    await generator.jobsStarted(1)
    expect((await post(`${url}/api/similar`, body({ seed: 44 }))).status).toBe(200)
    generator.release()
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200])
    expect(uploadsInProgress()).toEqual({ reading: 0, waiting: 0, bufferedBytes: 0 })
  })

  it('keeps a submitted job’s place to parse until it is answered, so parsed pictures wait two at a time', async () => {
    const { url, service } = await start()
    const submit = service.submitJobs.bind(service)
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    vi.spyOn(service, 'submitJobs').mockImplementation(async (input) => {
      await gate
      return submit(input)
    })
    const jobBody = (seed: number): string =>
      JSON.stringify({ requests: [{ image, prompt: 'a flamingo', quality: 'draft', seed }] })
    const answers = [61, 62, 63].map((seed) => post(`${url}/api/jobs`, jobBody(seed)))
    // Two parsed and being accepted, the third still raw bytes waiting for a place.
    await until(
      () => uploadsInProgress().reading === 2 && uploadsInProgress().waiting === 1,
      'two submissions parsed and one waiting',
    )
    open()
    expect((await Promise.all(answers)).map((r) => r.status)).toEqual([202, 202, 202])
    expect(uploadsInProgress()).toEqual({ reading: 0, waiting: 0, bufferedBytes: 0 })
  })

  it('streams events to many clients with one subscription, and without a listener warning', async () => {
    const warning = vi.fn()
    process.on('warning', warning)
    const { url, service, generator } = await start()
    const listeners = service.events.listenerCount('progress')
    const clients = Array.from({ length: 20 }, () => ({ controller: new AbortController(), text: '' }))
    const readers: Promise<void>[] = []
    for (const client of clients) {
      const response = await fetch(`${url}/api/events`, { signal: client.controller.signal })
      expect(response.headers.get('content-type')).toBe('text/event-stream')
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      readers.push(
        (async () => {
          for (;;) {
            const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
            if (done) return
            client.text += new TextDecoder().decode(value)
          }
        })(),
      )
    }
    // Twenty clients, and still the host's one subscription (beside the job queue's own).
    expect(service.events.listenerCount('progress')).toBe(listeners)
    generator.hold()
    const slow = post(`${url}/api/generate-3d-cached`, body({ requestId: 'slow-1' }))
    await generator.jobsStarted(1)
    const cancel = await post(`${url}/api/requests/slow-1/cancel`, '{}')
    expect(await cancel.json()).toEqual({ cancelled: true })
    const cancelled = await slow
    expect(cancelled.status).toBe(409)
    expect(((await cancelled.json()) as { code: string }).code).toBe('CANCELLED')
    const progressed = /event: progress\ndata: \{"requestId":"slow-1"/
    await until(() => clients.every(({ text }) => progressed.test(text)), 'every client has the progress')
    for (const { controller } of clients) controller.abort()
    await Promise.all(readers)
    process.off('warning', warning)
    expect(warning).not.toHaveBeenCalled()
  })
})
