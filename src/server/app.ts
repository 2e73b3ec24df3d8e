import { existsSync } from 'node:fs'
import rateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import sjson from 'secure-json-parse'
import { dispatch, type EventSourceLike, eventsWhenReady, whenReady } from '../core/dispatch'
import { parseResourcePath } from '../shared/addresses'
import { CONTENT_SECURITY_POLICY_HEADER } from '../shared/csp'
import { SMALL_BODY_LIMIT } from '../shared/limits'
import { OPERATIONS, type OperationName, SERVICE_OPERATION_NAMES, type ServiceOperations } from '../shared/operations'
import { parseSettingBigStringsAside } from './big-strings'
import { EventStream } from './event-stream'
import { errorPayloadFor, sendError } from './http-errors'
import { exportedFile } from './model-exports'
import { type GuardOptions, guard, MAX_PARAM_LENGTH } from './security'
import { heldUntilAnswered, takeBody, takeParsedEarly, type UploadLimits, uploadAdmission } from './upload-admission'

/** What the host serves: the service's operations, its stored resources and its events. */
export interface HostService extends ServiceOperations {
  readonly events: EventSourceLike
  model(key: string): Promise<Uint8Array | undefined>
  thumbnail(key: string): Promise<Uint8Array | undefined>
  picture(id: string): Promise<Uint8Array | undefined>
}

/**
 * The host's service once `ready` resolves: the host listens at once (the page and the
 * first answer do not wait for the disk index) and early requests simply wait.
 */
export function hostWhenReady(ready: Promise<HostService>): HostService {
  return {
    ...whenReady(ready),
    events: eventsWhenReady(ready),
    model: async (key) => (await ready).model(key),
    thumbnail: async (key) => (await ready).thumbnail(key),
    picture: async (id) => (await ready).picture(id),
  }
}

export interface HostOptions extends GuardOptions {
  service: HostService
  /** The built renderer (out/renderer); not served when absent. */
  staticDir?: string
  /** Management endpoints: at most `max` requests per client per window. */
  managementRateLimit?: { max: number; timeWindowMs: number }
  /** Deadlines for reading a large upload (a stalled one gets 408). */
  uploadLimits?: Partial<UploadLimits>
  /** Extra routes on the same server (the Hunyuan3D-2 protocol under /hunyuan). */
  plugins?: ((app: FastifyInstance) => Promise<void>)[]
}

const CONTENT_TYPE = { model: 'model/gltf-binary', thumbnail: 'image/webp', picture: 'image/webp' } as const

/** The argument of an operation from an HTTP request: the query (GET) or JSON body, plus path segments. */
function inputOf(method: string, query: unknown, body: unknown, params: unknown): unknown {
  const { token: _token, ...fromQuery } = (query ?? {}) as Record<string, unknown>
  const base = method === 'GET' || method === 'DELETE' ? fromQuery : body
  const segments = (params ?? {}) as Record<string, unknown>
  if (Object.keys(segments).length === 0) return base ?? {}
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return base
  return { ...base, ...segments }
}

/** JSON.parse, refusing __proto__ and constructor.prototype keys as Fastify's own parser does. */
const strictJson = (text: string): unknown =>
  sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })

/**
 * The browser host: the same service over HTTP. Every operation's route is derived from the
 * operation table; state changes take JSON only and come only from this origin; management
 * routes are rate-limited; loopback by default.
 */
export async function buildHost(options: HostOptions): Promise<FastifyInstance> {
  const { service } = options
  // A picture's base64 becomes its bytes straight from the body's bytes (see big-strings.ts);
  // the JSON around it is parsed as Fastify's own parser does, refusing __proto__ keys.
  const uploads = uploadAdmission(options.uploadLimits, (chunks, done) =>
    parseSettingBigStringsAside(chunks, { base64AsBytes: true, parse: strictJson, onAllRead: done }),
  )
  // Closing drops open connections too (event streams would otherwise hold the close open).
  const app = Fastify({
    logger: false,
    bodyLimit: SMALL_BODY_LIMIT,
    forceCloseConnections: true,
    // A long path segment (a made-up uid) reaches its route and gets that surface's own error.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  })
  // JSON only: Fastify would also parse text/plain, which a cross-site form can send.
  app.removeContentTypeParser('text/plain')
  // A large body was parsed as it arrived (uploadAdmission); any other is parsed here as usual.
  const defaultJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const early = takeParsedEarly(request)
    if (early) return done(null, early.value)
    defaultJson(request, String(body), done)
  })
  const management = options.managementRateLimit ?? { max: 300, timeWindowMs: 60_000 }
  await app.register(rateLimit, { global: false })
  // One limiter instance, hence one budget per client shared by every management route.
  const managed = app.rateLimit({ max: management.max, timeWindow: management.timeWindowMs })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, payload } = errorPayloadFor(error, {
      url: request.routeOptions.url ?? request.url,
      bodyLimit: request.routeOptions.bodyLimit ?? SMALL_BODY_LIMIT,
    })
    return sendError(reply, payload, status)
  })
  app.addHook('onRequest', guard(options))

  const handlers = service as ServiceOperations
  for (const name of SERVICE_OPERATION_NAMES) {
    const route = OPERATIONS[name as OperationName].http
    if (!route) continue
    app.route({
      method: route.method,
      url: route.path,
      bodyLimit: 'bodyLimit' in route ? route.bodyLimit : undefined,
      onRequest: 'managed' in route ? managed : undefined,
      ...('bodyLimit' in route && route.bodyLimit > SMALL_BODY_LIMIT
        ? 'status' in route && route.status === 202
          ? heldUntilAnswered(uploads)
          : uploads
        : {}),
      handler: async (request, reply) => {
        // A client that goes away stops waiting; its generation stops when nobody else waits.
        // (The request's own 'close' fires once its body is read, so watch the response.)
        const controller = new AbortController()
        const onClose = (): void => {
          if (!reply.raw.writableFinished) controller.abort()
        }
        reply.raw.on('close', onClose)
        try {
          if (request.method === 'POST' && !/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
            return sendError(reply, {
              code: 'UNSUPPORTED_MEDIA_TYPE',
              message: 'Send the request body as JSON (content-type: application/json).',
            })
          }
          const result = await dispatch(handlers, name, takeInput(request), { signal: controller.signal }, true)
          return reply.code('status' in route ? route.status : 200).send(result)
        } finally {
          reply.raw.off('close', onClose)
        }
      },
    })
  }

  const serveResource = async (path: string, reply: FastifyReply): Promise<FastifyReply> => {
    const resource = parseResourcePath(path)
    const bytes = resource ? await service[resource.kind](resource.key) : undefined
    if (!resource || !bytes) return sendError(reply, { code: 'NOT_FOUND', message: 'No cached model has that key.' })
    return reply
      .header('content-type', CONTENT_TYPE[resource.kind])
      .header('cache-control', 'private, max-age=31536000, immutable')
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  }
  app.get<{ Params: { file: string }; Querystring: { name?: unknown } }>('/models/:file', async (request, reply) => {
    const { file } = request.params
    if (file.endsWith('.glb')) return serveResource(`/models/${file}`, reply)
    const exported = await exportedFile(file, request.query.name, (key) => service.model(key))
    if (!exported) return sendError(reply, { code: 'NOT_FOUND', message: 'No cached model has that key.' })
    return reply
      .header('content-type', exported.contentType)
      .header('content-disposition', `attachment; filename="${exported.name}"`)
      .header('cache-control', 'private, max-age=31536000, immutable')
      .send(Buffer.from(exported.bytes.buffer, exported.bytes.byteOffset, exported.bytes.byteLength))
  })
  app.get<{ Params: { file: string } }>('/thumbnails/:file', (request, reply) =>
    serveResource(`/thumbnails/${request.params.file}`, reply),
  )
  app.get<{ Params: { file: string } }>('/pictures/:file', (request, reply) =>
    serveResource(`/pictures/${request.params.file}`, reply),
  )

  const events = new EventStream(service.events)
  app.addHook('onClose', async () => events.close())
  app.get('/api/events', (_request, reply) => {
    reply.hijack()
    events.attach(reply.raw)
  })

  for (const plugin of options.plugins ?? []) await plugin(app)

  if (options.staticDir && existsSync(options.staticDir)) {
    await app.register(fastifyStatic, {
      root: options.staticDir,
      setHeaders: (res) => res.header('content-security-policy', CONTENT_SECURITY_POLICY_HEADER),
    })
  }
  app.setNotFoundHandler((_request, reply) =>
    sendError(reply, { code: 'NOT_FOUND', message: 'There is nothing at this address.' }),
  )
  return app
}

/** The argument of an operation, taken off the request (see takeBody). */
function takeInput(request: FastifyRequest): unknown {
  return inputOf(request.method, request.query, takeBody(request), request.params)
}
