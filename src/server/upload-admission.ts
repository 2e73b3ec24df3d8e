import type { FastifyReply, FastifyRequest } from 'fastify'
import pLimit from 'p-limit'

/** Large request bodies (pictures) read and parsed at once, in this whole process. */
export const UPLOADS_READ_AT_ONCE = 2

const slots = pLimit(UPLOADS_READ_AT_ONCE)
const admitted = new WeakMap<FastifyRequest, () => void>()

async function leave(request: FastifyRequest): Promise<void> {
  admitted.get(request)?.()
  admitted.delete(request)
}

/** How many large bodies are being read now, and how many wait for their turn. */
export function uploadsInProgress(): { reading: number; waiting: number } {
  return { reading: slots.activeCount, waiting: slots.pendingCount }
}

/**
 * Route hooks for routes that take pictures: at most UPLOADS_READ_AT_ONCE bodies are read and
 * parsed at once, and the others wait unread (TCP holds the client's upload back), so a burst
 * of large uploads cannot multiply the memory of the text being parsed. A request leaves as
 * soon as its body is parsed, so an upload never waits behind another's generation.
 */
export const uploadAdmission = {
  preParsing: async (request: FastifyRequest, _reply: FastifyReply, payload: NodeJS.ReadableStream) => {
    const entered = await new Promise<() => void>((enter) => {
      void slots(() => new Promise<void>((release) => enter(release)))
    })
    admitted.set(request, entered)
    return payload
  },
  preHandler: leave,
  onResponse: leave,
  onRequestAbort: leave,
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
