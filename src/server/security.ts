import { timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendError } from './http-errors'

export const TOKEN_COOKIE = 'meshcache_token'

/** Longest path segment routed (Fastify answers longer ones with its own 414 before any route). */
export const MAX_PARAM_LENGTH = 16 * 1024

/** The Hunyuan3D routes also answer under <prefix>/t/<token>/ for clients that cannot send headers. */
export const PATH_TOKEN_PREFIX = '/t'
const PATH_TOKEN = /^(?:\/hunyuan)?\/t\/([^/?#]+)\//

function tokenMatches(candidate: string | undefined, token: string): boolean {
  if (!candidate) return false
  const a = Buffer.from(candidate)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A cookie's value; undefined when absent or not decodable (a malformed cookie is no token). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [k, ...v] = part.trim().split('=')
    if (k !== name) continue
    try {
      return decodeURIComponent(v.join('='))
    } catch {
      return undefined
    }
  }
  return undefined
}

export interface GuardOptions {
  token?: string
  /** Host names answered (a guard against DNS rebinding on loopback); any when undefined. */
  allowedHosts?: string[]
}

/**
 * The checks every request passes, in order:
 * - the Host header names this server (loopback), so a rebound DNS name cannot reach it;
 * - the token, as a bearer header, `?token=`, the cookie that `?token=` sets, or (the
 *   Hunyuan3D routes only) a /t/<token>/ path segment;
 * - a state change (anything but GET/HEAD) from a browser must come from this origin: a
 *   page elsewhere cannot clear or fill the cache, whatever form or fetch it uses.
 * Returns a reply when the request is refused.
 */
export function guard(options: GuardOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    const host = request.headers.host ?? ''
    if (options.allowedHosts) {
      const name = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')
      if (!options.allowedHosts.includes(name)) {
        return sendError(reply, { code: 'FORBIDDEN', message: 'This host name is not served here.' })
      }
    }
    const { token } = options
    if (token) {
      const query = request.query as Record<string, string | undefined>
      const bearer = request.headers.authorization?.replace(/^Bearer\s+/i, '')
      const fromQuery = query.token
      const fromPath = PATH_TOKEN.exec(request.url)?.[1]
      const ok =
        tokenMatches(bearer, token) ||
        tokenMatches(fromPath === undefined ? undefined : safeDecode(fromPath), token) ||
        tokenMatches(fromQuery, token) ||
        tokenMatches(cookieValue(request.headers.cookie, TOKEN_COOKIE), token)
      if (!ok) return sendError(reply, { code: 'FORBIDDEN', message: 'A valid access token is required.' })
      // Opening the app once with ?token= lets the page's own requests carry it as a cookie.
      if (tokenMatches(fromQuery, token)) {
        reply.header('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
      }
    }
    if (request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request.headers.origin, host)) {
      return sendError(reply, { code: 'FORBIDDEN', message: 'Requests from other web pages are not accepted.' })
    }
    return undefined
  }
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** True without an Origin (a program, not a page) or with this server's own origin. */
function sameOrigin(origin: string | undefined, host: string): boolean {
  if (origin === undefined) return true
  try {
    return new URL(origin).host === host
  } catch {
    return false
  }
}
