import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import pLimit from 'p-limit'

/** Large request bodies (pictures) parsed at once, in this whole process. */
export const UPLOADS_READ_AT_ONCE = 2

export interface UploadLimits {
  /** An upload that sends nothing for this long is refused with 408. */
  stallMs: number
  /** An upload not complete after this long is refused with 408. */
  deadlineMs: number
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { stallMs: 15_000, deadlineMs: 5 * 60_000 }

const slots = pLimit(UPLOADS_READ_AT_ONCE)
const admitted = new WeakMap<FastifyRequest, () => void>()

async function leave(request: FastifyRequest): Promise<void> {
  admitted.get(request)?.()
  admitted.delete(request)
}

/** How many large bodies are being parsed now, and how many wait for their turn. */
export function uploadsInProgress(): { reading: number; waiting: number } {
  return { reading: slots.activeCount, waiting: slots.pendingCount }
}

/** What Fastify reports as a 408 (http-errors.ts turns it into the surface's own shape). */
export class UploadTimeout extends Error {
  readonly statusCode = 408
  readonly code = 'MESHCACHE_UPLOAD_TIMEOUT'
}

/** Fastify's own error for a body past the route's limit, so the 413 names the limit as elsewhere. */
class BodyTooLarge extends Error {
  readonly statusCode = 413
  readonly code = 'FST_ERR_CTP_BODY_TOO_LARGE'
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`

/**
 * The whole body, as the chunks that arrived (no copy is made here), within the limits: a
 * body that stops arriving or takes too long fails with UploadTimeout, one past `maxBytes`
 * with BodyTooLarge, as soon as that is known.
 */
function readWhole(payload: NodeJS.ReadableStream, limits: UploadLimits, maxBytes: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let stall: ReturnType<typeof setTimeout> | undefined
    const finish = (error?: Error): void => {
      clearTimeout(stall)
      clearTimeout(total)
      payload.off('data', onData)
      payload.off('end', onEnd)
      payload.off('error', onError)
      if (error) {
        chunks.length = 0
        reject(error)
      } else resolve(chunks)
    }
    const arm = (): void => {
      clearTimeout(stall)
      stall = setTimeout(
        () => finish(new UploadTimeout(`The upload stalled: nothing arrived for ${seconds(limits.stallMs)}.`)),
        limits.stallMs,
      )
    }
    const total = setTimeout(
      () => finish(new UploadTimeout(`The upload did not complete within ${seconds(limits.deadlineMs)}.`)),
      limits.deadlineMs,
    )
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength
      if (size > maxBytes) {
        finish(new BodyTooLarge('Request body is too large'))
        return
      }
      chunks.push(chunk)
      arm()
    }
    const onEnd = (): void => finish()
    // The client went away mid-upload: its request, not the server, failed.
    const onError = (): void => finish(Object.assign(new Error('The upload was cut off.'), { statusCode: 400 }))
    payload.on('data', onData)
    payload.on('end', onEnd)
    payload.on('error', onError)
    arm()
  })
}

/**
 * Route hooks for routes that take pictures. A body is read whole first, with a stall
 * deadline and a total one, holding nothing: a client that opens an upload and stops sending
 * keeps no one else waiting, and gets a 408 by its deadline. Only a body that has arrived takes
 * one of UPLOADS_READ_AT_ONCE places to be parsed, so a burst of large uploads cannot multiply
 * the memory of the text being parsed; it leaves as soon as its body is parsed, so an upload
 * never waits behind another's generation.
 */
export function uploadAdmission(limits: UploadLimits = DEFAULT_UPLOAD_LIMITS) {
  return {
    preParsing: async (request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream) => {
      let chunks: Buffer[]
      try {
        chunks = await readWhole(payload, limits, request.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY)
      } catch (error) {
        // The rest of a refused upload is not read: the connection goes with the answer.
        reply.header('connection', 'close')
        throw error
      }
      const entered = await new Promise<() => void>((enter) => {
        void slots(() => new Promise<void>((release) => enter(release)))
      })
      admitted.set(request, entered)
      return Readable.from(chunks)
    },
    preHandler: leave,
    onResponse: leave,
    onRequestAbort: leave,
  }
}

/**
 * A request's body, taken off the request: a large upload's text is then referenced only
 * until it is validated and decoded, not for as long as the request (its generation) runs.
 */
export function takeBody(request: FastifyRequest): unknown {
  const body = request.body
  request.body = undefined
  return body
}
