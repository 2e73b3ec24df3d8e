import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'

/**
 * This MeshCache process, as other MeshCaches see it: its /hunyuan drop-in names it in
 * /health, and every request it forwards to a GPU server carries it in `x-meshcache-via`, so
 * a MeshCache added as its own GPU server, or two fronting each other, is a refusal with a
 * message, never a loop that waits until the deadline.
 */
export const INSTANCE_ID = randomUUID()

export const VIA_HEADER = 'x-meshcache-via'

/**
 * The MeshCaches the request being answered passed through, for the probes it makes: a
 * /health that asks its own GPU servers passes the chain on, so a ring of MeshCaches asking
 * each other stops where it comes back to one.
 */
export const viaContext = new AsyncLocalStorage<string[]>()

/** The MeshCaches a request has passed through, from its header. */
export function viaOf(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '')
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => /^[\w-]{1,64}$/.test(part))
    .slice(0, 32)
}

export const LOOP_MESSAGE =
  'This request has already passed through this MeshCache: two MeshCaches are set up as each other’s GPU server. Point one of them at a Hunyuan3D server instead.'
