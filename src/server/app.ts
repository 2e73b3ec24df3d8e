import { timingSafeEqual } from 'node:crypto'
import { existsSync } from 'node:fs'
import rateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { ModelService } from '../main/service'
import type { GenerateResult } from '../shared/contract'
import { AppError, type ErrorPayload, toErrorPayload } from '../shared/errors'
import { MAX_UPLOAD_BYTES } from '../shared/limits'
import { HTTP_STATUS } from './http-errors'

export interface HostOptions {
  service: ModelService
  /** The built renderer (out/renderer); not served when absent. */
  staticDir?: string
  /** Required when listening beyond loopback: every request must then carry it. */
  token?: string
  /** Management endpoints: at most `max` requests per client per window. */
  managementRateLimit?: { max: number; timeWindowMs: number }
  /** Host names the server answers to (DNS-rebinding guard); any when undefined. */
  allowedHosts?: string[]
}

/** The renderer's Content-Security-Policy when served over HTTP: same origin only. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' blob: data:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const TOKEN_COOKIE = 'meshcache_token'
/** Base64 makes the upload a third larger; leave room for the other fields. */
const GENERATE_BODY_LIMIT = Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 64 * 1024
const WARM_BODY_LIMIT = GENERATE_BODY_LIMIT * 4

function sendError(reply: FastifyReply, payload: ErrorPayload): FastifyReply {
  return reply.code(HTTP_STATUS[payload.code as keyof typeof HTTP_STATUS] ?? 500).send(payload)
}

function tokenMatches(candidate: string | undefined, token: string): boolean {
  if (!candidate) return false
  const a = Buffer.from(candidate)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return decodeURIComponent(v.join('='))
  }
  return undefined
}

/** A JSON generate request carries the image as base64, as Hunyuan3D's own API does. */
function decodeImageField(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body
  const { image, ...rest } = body as Record<string, unknown>
  if (typeof image !== 'string') return { ...rest, image }
  const clean = image.replace(/^data:[^;,]+;base64,/, '')
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(clean)) {
    throw new AppError('INVALID_REQUEST', 'image must be base64-encoded PNG, JPEG or WebP bytes')
  }
  return { ...rest, image: new Uint8Array(Buffer.from(clean, 'base64')) }
}

/** Query strings are text; the contract's numbers are numbers. */
function entriesQuery(query: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...query }
  for (const field of ['offset', 'limit']) {
    const v = query[field]
    if (v !== undefined) out[field] = /^\d+$/.test(v) ? Number(v) : v
  }
  delete out.token
  return out
}

/**
 * The browser host: the same ModelService over HTTP, with the original plan's endpoints,
 * server-sent progress events and the built renderer. Loopback by default; management
 * endpoints rate-limited; every payload validated by the service's shared schemas.
 */
export async function buildHost(options: HostOptions): Promise<FastifyInstance> {
  const { service, token } = options
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  const management = options.managementRateLimit ?? { max: 300, timeWindowMs: 60_000 }
  await app.register(rateLimit, { global: false })
  // One limiter instance, hence one budget per client shared by every management endpoint.
  const limited = { onRequest: app.rateLimit({ max: management.max, timeWindow: management.timeWindowMs }) }

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (error instanceof AppError) return sendError(reply, error.toJSON())
    if (error.statusCode === 429) {
      return sendError(reply, { code: 'RATE_LIMITED', message: 'Too many requests: wait a moment and try again.' })
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, {
        code: 'FILE_TOO_LARGE',
        message: 'The request is too large; images are limited to 25 MB.',
      })
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, { code: 'INVALID_REQUEST', message: `The request could not be read: ${error.message}` })
    }
    const payload = toErrorPayload(error)
    // The user gets a plain sentence; the operator gets the details.
    if (payload.code === 'INTERNAL') console.error('MeshCache: unexpected error', error)
    return sendError(reply, payload)
  })

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    if (options.allowedHosts) {
      const host = (request.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')
      if (!options.allowedHosts.includes(host)) {
        return sendError(reply, { code: 'FORBIDDEN', message: 'This host name is not served here.' })
      }
    }
    if (token) {
      const query = request.query as Record<string, string | undefined>
      const bearer = request.headers.authorization?.replace(/^Bearer\s+/i, '')
      const fromQuery = query.token
      const ok =
        tokenMatches(bearer, token) ||
        tokenMatches(fromQuery, token) ||
        tokenMatches(cookieValue(request.headers.cookie, TOKEN_COOKIE), token)
      if (!ok) return sendError(reply, { code: 'FORBIDDEN', message: 'A valid access token is required.' })
      // Opening the app once with ?token= lets the page's own requests carry it as a cookie.
      if (tokenMatches(fromQuery, token)) {
        reply.header('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
      }
    }
  })

  app.post('/api/generate-3d-cached', { bodyLimit: GENERATE_BODY_LIMIT }, async (request, reply) => {
    // A client that goes away stops waiting; the generation stops when nobody else waits.
    // (The request's own 'close' fires once its body is read, so watch the response.)
    const controller = new AbortController()
    const onClose = (): void => {
      if (!reply.raw.writableFinished) controller.abort()
    }
    reply.raw.on('close', onClose)
    try {
      const result: GenerateResult = await service.generate(decodeImageField(request.body), {
        signal: controller.signal,
      })
      return result
    } finally {
      reply.raw.off('close', onClose)
    }
  })

  app.post<{ Params: { requestId: string } }>('/api/requests/:requestId/cancel', async (request) => ({
    cancelled: service.cancel(request.params.requestId),
  }))

  app.get('/api/cache/stats', limited, async () => service.stats())
  app.get('/api/cache/config', limited, async () => service.getConfig())
  app.post('/api/cache/config', limited, async (request) => service.setConfig(request.body))
  app.post('/api/cache/clear', limited, async (request) => {
    const body = request.body as { scope?: unknown } | undefined
    return service.clear(body?.scope ?? 'all')
  })
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/cache/entries', limited, async (request) =>
    service.entries(entriesQuery(request.query)),
  )
  app.delete<{ Params: { key: string } }>('/api/cache/entries/:key', limited, async (request, reply) => {
    if (!service.deleteEntry(request.params.key)) {
      return sendError(reply, { code: 'NOT_FOUND', message: 'No cached model has that key.' })
    }
    return { deleted: true }
  })
  app.post('/api/cache/warm', { ...limited, bodyLimit: WARM_BODY_LIMIT }, async (request, reply) => {
    // `{ "requests": [...] }` or a bare list; the service's shared schema checks the rest.
    const body = request.body as { requests?: unknown } | unknown[] | null
    const list = Array.isArray(body) ? body : body?.requests
    return reply.code(202).send(await service.warm(Array.isArray(list) ? list.map(decodeImageField) : list))
  })
  app.get('/api/backends', async () => service.backends())

  app.get<{ Params: { file: string } }>('/models/:file', async (request, reply) => {
    const match = /^([0-9a-f]{64})\.glb$/.exec(request.params.file)
    const bytes = match ? await service.model(match[1]) : undefined
    if (!bytes) return sendError(reply, { code: 'NOT_FOUND', message: 'No cached model has that key.' })
    return reply
      .header('content-type', 'model/gltf-binary')
      .header('cache-control', 'private, max-age=31536000, immutable')
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  })

  app.get('/api/events', (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    })
    res.write('retry: 2000\n\n')
    const send = (event: string) => (data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    const onProgress = send('progress')
    const onChanged = send('cache-changed')
    service.events.on('progress', onProgress)
    service.events.on('cache-changed', onChanged)
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
    request.raw.on('close', () => {
      clearInterval(heartbeat)
      service.events.off('progress', onProgress)
      service.events.off('cache-changed', onChanged)
    })
  })

  if (options.staticDir && existsSync(options.staticDir)) {
    await app.register(fastifyStatic, {
      root: options.staticDir,
      setHeaders: (res) => res.header('content-security-policy', CONTENT_SECURITY_POLICY),
    })
  }
  app.setNotFoundHandler((_request, reply) =>
    sendError(reply, { code: 'NOT_FOUND', message: 'There is nothing at this address.' }),
  )
  return app
}
