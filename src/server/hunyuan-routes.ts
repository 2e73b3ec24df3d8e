import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify'
import type { HunyuanCompat } from '../core/compat/hunyuan-compat'
import { COMPAT_BODY_LIMIT } from '../core/compat/hunyuan-request'
import { toErrorPayload } from '../shared/errors'
import { errorPayloadFor } from './http-errors'
import { type GuardOptions, guard } from './security'
import { takeBody, uploadAdmission } from './upload-admission'

/** Upstream's failure shape: every failure is `{ text, error_code: 1 }` (with the real reason in `text`). */
function fail(reply: FastifyReply, text: string, status = 404): FastifyReply {
  return reply.code(status).send({ text, error_code: 1 })
}

/**
 * Like the Python server, the body is read as JSON whatever its content type says (curl
 * without -H sends form encoding). A trailing comma, as in Hunyuan3D-2's own README example,
 * is forgiven.
 */
function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return JSON.parse(text.replace(/,\s*([}\]])/g, '$1'))
  }
}

/**
 * Hunyuan3D-2's api_server.py routes: POST /generate (the GLB), POST /send ({ uid }),
 * GET /status/<uid>. Mounted under /hunyuan on the browser host, and at the root of
 * MESHCACHE_HUNYUAN_COMPAT_PORT when that is set. The host's token, loopback and origin
 * rules apply as everywhere.
 */
export function hunyuanRoutes(compat: HunyuanCompat, prefix: string) {
  return async (app: FastifyInstance): Promise<void> => {
    await app.register(
      async (scope) => {
        scope.removeAllContentTypeParsers()
        scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: COMPAT_BODY_LIMIT }, (_request, body, done) => {
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
        scope.post('/generate', uploadAdmission, async (request, reply) => {
          const controller = new AbortController()
          const onClose = (): void => {
            if (!reply.raw.writableFinished) controller.abort()
          }
          reply.raw.on('close', onClose)
          try {
            const glb = await compat.generate(takeBody(request), controller.signal)
            return reply
              .header('content-type', 'model/gltf-binary')
              .header('content-disposition', 'attachment; filename="model.glb"')
              .send(Buffer.from(glb.buffer, glb.byteOffset, glb.byteLength))
          } catch (error) {
            return fail(reply, toErrorPayload(error).message)
          } finally {
            reply.raw.off('close', onClose)
          }
        })
        scope.post('/send', uploadAdmission, async (request, reply) => {
          try {
            return compat.send(takeBody(request))
          } catch (error) {
            return fail(reply, toErrorPayload(error).message)
          }
        })
        scope.get<{ Params: { uid: string } }>('/status/:uid', async (request, reply) => {
          const status = await compat.status(request.params.uid)
          if (status) return status
          return reply
            .code(404)
            .send({ status: 'error', text: `No job has the uid "${request.params.uid}".`, error_code: 1 })
        })
      },
      { prefix },
    )
  }
}

/** A server of its own (MESHCACHE_HUNYUAN_COMPAT_PORT) speaking only that protocol, at its root. */
export async function buildHunyuanHost(compat: HunyuanCompat, guardOptions: GuardOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true })
  app.addHook('onRequest', guard(guardOptions))
  await hunyuanRoutes(compat, '')(app)
  app.setNotFoundHandler((_request, reply) =>
    fail(reply, 'There is nothing at this address: use /generate, /send or /status/<uid>.'),
  )
  return app
}
