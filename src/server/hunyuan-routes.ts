import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify'
import JSON5 from 'json5'
import type { HunyuanCompat } from '../core/compat/hunyuan-compat'
import { COMPAT_BODY_LIMIT } from '../core/compat/hunyuan-request'
import { MODEL_CONTENT_TYPES } from '../core/compat/model-formats'
import { VIA_HEADER, viaContext, viaOf } from '../core/instance'
import { toErrorPayload } from '../shared/errors'
import { parseSettingBigStringsAside } from './big-strings'
import { errorPayloadFor } from './http-errors'
import { type GuardOptions, guard, MAX_PARAM_LENGTH, PATH_TOKEN_PREFIX } from './security'
import { takeBody, takeParsedEarly, type UploadLimits, uploadAdmission } from './upload-admission'

/** A value quoted back in an error, cut short: a made-up uid may be thousands of characters. */
function shortened(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

/** Upstream's failure shape: every failure is `{ text, error_code: 1 }` (with the real reason in `text`). */
function fail(reply: FastifyReply, text: string, status = 404): FastifyReply {
  return reply.code(status).send({ text, error_code: 1 })
}

/**
 * Like the Python server, the body is read as JSON whatever its content type says (curl
 * without -H sends form encoding), with a leading byte-order mark allowed as Python's
 * json.loads allows it. A trailing comma, as in Hunyuan3D-2's own README example, is
 * forgiven by JSON5's parser, which knows strings: a value is never rewritten.
 */
export function parseLenientJson(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  try {
    return JSON.parse(body)
  } catch {
    return JSON5.parse(body)
  }
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf])

/** The chunks of a body without the byte-order mark it may start with (as parseLenientJson allows). */
function withoutBom(chunks: readonly Buffer[]): readonly Buffer[] {
  const first = chunks[0]
  if (!first || first.length < 3 || !first.subarray(0, 3).equals(UTF8_BOM)) return chunks
  return [first.subarray(3), ...chunks.slice(1)]
}

/**
 * Hunyuan3D-2's api_server.py routes: POST /generate (the GLB), POST /send ({ uid }),
 * GET /status/<uid>. Mounted under /hunyuan on the browser host, and at the root of
 * MESHCACHE_HUNYUAN_COMPAT_PORT when that is set. The host's token, loopback and origin
 * rules apply as everywhere.
 */
export function hunyuanRoutes(compat: HunyuanCompat, prefix: string, limits?: Partial<UploadLimits>) {
  return async (app: FastifyInstance): Promise<void> => {
    // Also under /t/<token>/: a client that cannot send headers (the Blender add-on appends
    // /generate to the URL it is given) carries the token in the path (see security.ts).
    // Bodies with long strings (a mesh, views) are parsed from their bytes, strings set aside.
    const uploads = uploadAdmission(limits, (chunks, done) =>
      parseSettingBigStringsAside(withoutBom(chunks), { onAllRead: done }),
    )
    for (const at of [prefix, `${prefix}${PATH_TOKEN_PREFIX}/:token`]) {
      await app.register(routes(compat, uploads), { prefix: at })
    }
  }
}

function routes(compat: HunyuanCompat, uploads: ReturnType<typeof uploadAdmission>) {
  return async (scope: FastifyInstance): Promise<void> => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: COMPAT_BODY_LIMIT }, (request, body, done) => {
      const early = takeParsedEarly(request)
      if (early) return done(null, early.value)
      try {
        done(null, parseLenientJson(String(body)))
      } catch {
        done(Object.assign(new Error('the body is not JSON'), { statusCode: 400 }), undefined)
      }
    })
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const { status, payload } = errorPayloadFor(error, { url: request.url, bodyLimit: COMPAT_BODY_LIMIT })
      return fail(reply, payload.message, status === 500 ? 404 : status)
    })
    scope.post('/generate', { ...uploads, bodyLimit: COMPAT_BODY_LIMIT }, async (request, reply) => {
      const controller = new AbortController()
      const onClose = (): void => {
        if (!reply.raw.writableFinished) controller.abort()
      }
      reply.raw.on('close', onClose)
      try {
        const { bytes, type } = await compat.generate(
          takeBody(request),
          controller.signal,
          viaOf(request.headers[VIA_HEADER]),
        )
        return reply
          .header('content-type', MODEL_CONTENT_TYPES[type])
          .header('content-disposition', `attachment; filename="model.${type}"`)
          .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      } catch (error) {
        return fail(reply, toErrorPayload(error).message)
      } finally {
        reply.raw.off('close', onClose)
      }
    })
    scope.post('/send', { ...uploads, bodyLimit: COMPAT_BODY_LIMIT }, async (request, reply) => {
      try {
        return await compat.send(takeBody(request), viaOf(request.headers[VIA_HEADER]))
      } catch (error) {
        return fail(reply, toErrorPayload(error).message)
      }
    })
    scope.get('/health', async (request) => viaContext.run(viaOf(request.headers[VIA_HEADER]), () => compat.health()))
    scope.get<{ Params: { uid: string } }>('/status/:uid', async (request, reply) => {
      const status = await compat.status(request.params.uid)
      if (status) return status
      return reply
        .code(404)
        .send({ status: 'error', text: `No job has the uid "${shortened(request.params.uid)}".`, error_code: 1 })
    })
  }
}

/** A server of its own (MESHCACHE_HUNYUAN_COMPAT_PORT) speaking only that protocol, at its root. */
export async function buildHunyuanHost(
  compat: HunyuanCompat,
  guardOptions: GuardOptions,
  limits?: Partial<UploadLimits>,
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  })
  app.addHook('onRequest', guard(guardOptions))
  await hunyuanRoutes(compat, '', limits)(app)
  app.setNotFoundHandler((_request, reply) =>
    fail(reply, 'There is nothing at this address: use /generate, /send, /status/<uid> or /health.'),
  )
  return app
}
