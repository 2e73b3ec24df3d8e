import type { FastifyError, FastifyReply } from 'fastify'
import { type ErrorCode, type ErrorPayload, toErrorPayload } from '../shared/errors'

/** The HTTP status for each error code. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  EMPTY_FILE: 400,
  UNSUPPORTED_FORMAT: 415,
  CORRUPT_IMAGE: 400,
  IMAGE_TOO_LARGE: 413,
  FILE_TOO_LARGE: 413,
  NO_OBJECT: 422,
  BACKEND_UNAVAILABLE: 503,
  BACKEND_FAILED: 502,
  TIMEOUT: 504,
  CANCELLED: 409,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
}

export function sendError(
  reply: FastifyReply,
  payload: ErrorPayload,
  status = HTTP_STATUS[payload.code],
): FastifyReply {
  return reply.code(status).send(payload)
}

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB`
    : `${Math.round(bytes / 1024)} KB`
}

/**
 * Every failure in the app's `{ code, message }` shape, keeping the framework's status
 * (415 stays 415): the user gets a sentence, the operator the details of an internal error.
 */
export function errorPayloadFor(
  error: FastifyError,
  route: { url: string; bodyLimit: number },
): { status: number; payload: ErrorPayload } {
  const status = error.statusCode ?? 500
  if (error.code === 'MESHCACHE_UPLOAD_TIMEOUT')
    return { status: 408, payload: { code: 'TIMEOUT', message: error.message } }
  if (status === 429)
    return { status, payload: { code: 'RATE_LIMITED', message: 'Too many requests: wait a moment and try again.' } }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      payload: {
        code: 'PAYLOAD_TOO_LARGE',
        message: `The request body is too large: ${route.url} accepts at most ${megabytes(route.bodyLimit)}.`,
      },
    }
  }
  if (status === 415) {
    return {
      status,
      payload: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Send the request body as JSON (content-type: application/json).',
      },
    }
  }
  if (status >= 400 && status < 500) {
    return { status, payload: { code: 'INVALID_REQUEST', message: `The request could not be read: ${error.message}` } }
  }
  const payload = toErrorPayload(error)
  if (payload.code === 'INTERNAL') console.error('MeshCache: unexpected error', error)
  return { status: HTTP_STATUS[payload.code], payload }
}
