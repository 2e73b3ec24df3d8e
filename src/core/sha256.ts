import { createHash } from 'node:crypto'

/** The SHA-256 of bytes or text, in hex: content addresses, cache keys and integrity checks. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}
