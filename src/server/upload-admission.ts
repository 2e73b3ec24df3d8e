import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import pLimit from 'p-limit'
import { collectYoungGarbage, release } from '../core/memory/release'
import { DEFAULT_UPLOAD_BUFFER_BYTES } from '../shared/cache-types'
import { UploadBuffer } from './upload-buffer'

/** Large request bodies (pictures) parsed at once, in this whole process. */
export const UPLOADS_READ_AT_ONCE = 2

export interface UploadLimits {
  /** An upload that sends nothing for this long is refused with 408. */
  stallMs: number
  /** An upload not complete after this long is refused with 408. */
  deadlineMs: number
  /** Bytes of uploads read and not yet parsed, in the whole process (see UploadBuffer). */
  bufferBytes: number
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  stallMs: 15_000,
  deadlineMs: 5 * 60_000,
  bufferBytes: DEFAULT_UPLOAD_BUFFER_BYTES,
}

const slots = pLimit(UPLOADS_READ_AT_ONCE)
/** Memory is the process's: every admission of a process shares one buffer (and is given one configuration). */
const buffer = new UploadBuffer(DEFAULT_UPLOAD_LIMITS.bufferBytes)
/** What a request holds until its body is parsed: a place to parse, and bytes of the buffer. */
const admitted = new WeakMap<FastifyRequest, { release(): void; bytes: number }>()

async function leave(request: FastifyRequest): Promise<void> {
  const held = admitted.get(request)
  if (!held) return
  admitted.delete(request)
  held.release()
  buffer.give(held.bytes)
}

/** How many large bodies are being parsed now, how many wait for their turn, and the bytes read and not yet parsed. */
export function uploadsInProgress(): { reading: number; waiting: number; bufferedBytes: number } {
  return { reading: slots.activeCount, waiting: slots.pendingCount, bufferedBytes: buffer.bytes }
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

/**
 * A body is kept as copies of this size rather than as the socket's 64 KB reads: those come
 * from malloc's heap, and sixteen uploads at once left it 185 MB large for good (glibc gives
 * back only its top), while a copy this large is a mapping of its own, given back whole when
 * released. Measured with 16 jobs of 4096² pictures sent at once (`npm run bench -- memory`).
 */
const GATHER_BYTES = 1024 * 1024
/** The socket's reads, once copied, are garbage: collected (see collectYoungGarbage) every this many bytes read. */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024
let readSinceCollected = 0

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`

/**
 * The whole body, gathered into chunks of GATHER_BYTES of its own, within the limits and
 * the buffer: a body that stops arriving or takes too long fails with UploadTimeout, one past
 * `maxBytes` with BodyTooLarge, as soon as that is known. While the buffer holds it back, its
 * stall clock is stopped: the wait is the server's, not the client's. Its bytes stay taken
 * from the buffer when it resolves (the caller gives them back once parsed); they are given
 * back here when it fails.
 */
function readWhole(payload: NodeJS.ReadableStream, limits: UploadLimits, maxBytes: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const gathering: Buffer[] = []
    let gatheredBytes = 0
    const gather = (): void => {
      if (gathering.length === 0) return
      // Always a copy, so every chunk is this reader's own to release once parsed.
      chunks.push(Buffer.concat(gathering, gatheredBytes))
      gathering.length = 0
      gatheredBytes = 0
    }
    let stall: ReturnType<typeof setTimeout> | undefined
    const reader = {
      paused: false,
      resume: (): void => {
        arm()
        payload.resume()
      },
    }
    const finish = (error?: Error): void => {
      clearTimeout(stall)
      clearTimeout(total)
      payload.off('data', onData)
      payload.off('end', onEnd)
      payload.off('error', onError)
      buffer.leave(reader)
      if (error) {
        chunks.length = 0
        gathering.length = 0
        buffer.give(size)
        reject(error)
      } else {
        gather()
        resolve(chunks)
      }
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
      const mayRead = buffer.take(reader, chunk.byteLength)
      if (size > maxBytes) {
        finish(new BodyTooLarge('Request body is too large'))
        return
      }
      gathering.push(chunk)
      gatheredBytes += chunk.byteLength
      if (gatheredBytes >= GATHER_BYTES) gather()
      readSinceCollected += chunk.byteLength
      if (readSinceCollected >= COLLECT_EVERY_BYTES) {
        readSinceCollected = 0
        collectYoungGarbage()
      }
      if (mayRead) {
        arm()
        return
      }
      clearTimeout(stall)
      reader.paused = true
      payload.pause()
    }
    const onEnd = (): void => finish()
    // The client went away mid-upload: its request, not the server, failed.
    const onError = (): void => finish(Object.assign(new Error('The upload was cut off.'), { statusCode: 400 }))
    buffer.join(reader)
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
export function uploadAdmission(
  given: Partial<UploadLimits> = {},
  /**
   * Parses a whole body from its chunks in the place it was given; undefined leaves it to the
   * route's parser. It calls `done` once nothing it made refers to the chunks any more.
   */
  parseWhole?: (chunks: readonly Buffer[], done: () => void) => unknown,
) {
  const limits = { ...DEFAULT_UPLOAD_LIMITS, ...given }
  buffer.budget = limits.bufferBytes
  return {
    preParsing: async (request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream) => {
      let chunks: Buffer[]
      // The buffer's bytes are this request's from the first one read; leave gives them back.
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
      const bytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)
      admitted.set(request, { release: entered, bytes })
      // Every chunk is this reader's own copy (see readWhole); a small one in Buffer's shared pool is a view, and stays.
      const parsed = parseWhole?.(chunks, () => release(...chunks))
      if (parsed === undefined) return Readable.from(chunks)
      parsedEarly.set(request, parsed)
      // Nothing left for the route's parser to read, but the length Fastify checks is the body's.
      return Object.assign(Readable.from([]), { receivedEncodedLength: bytes })
    },
    preHandler: leave,
    onResponse: leave,
    onRequestAbort: leave,
  }
}

/**
 * The same hooks for a route that answers without waiting for a generation (202 Accepted):
 * its body keeps its place until answered, not just until parsed, so sixteen pictures posted
 * at once are held decoded from JSON two at a time (measured: 16 concurrent 4096² job
 * submissions peaked 657 MB when each left its place once parsed, and waited for keying with
 * its picture in memory).
 */
export function heldUntilAnswered(hooks: ReturnType<typeof uploadAdmission>): Omit<typeof hooks, 'preHandler'> {
  const { preHandler: _leavesOnceParsed, ...rest } = hooks
  return rest
}

const parsedEarly = new WeakMap<FastifyRequest, unknown>()

/** The body parseWhole made of this request, if it did (for the route's parser to hand on). */
export function takeParsedEarly(request: FastifyRequest): { value: unknown } | undefined {
  if (!parsedEarly.has(request)) return undefined
  const value = parsedEarly.get(request)
  parsedEarly.delete(request)
  return { value }
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
