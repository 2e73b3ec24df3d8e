import { AppError } from '../../../shared/errors'

/**
 * What a GPU server sends is read within bounds: a server that lies or loops can make an
 * answer of any length, and reading it whole (as `response.json()` or `arrayBuffer()` do)
 * lets it exhaust memory or crash the process. A body is read chunk by chunk up to its cap;
 * what lies beyond is never read (the stream is cancelled).
 */

/** Error answers: the server's reason is read up to this... */
export const ERROR_BODY_BYTES = 64 * 1024
/** ...and shown up to this, saying so when cut. */
export const REASON_CHARS = 2048
/** Probes (/health, /status of a made-up uid, /openapi.json). */
export const PROBE_BODY_BYTES = 256 * 1024

export async function readCapped(response: Response, max: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const reader = response.body?.getReader()
  if (!reader) return { bytes: new Uint8Array(), cut: false }
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    chunks.push(value)
    total += value.byteLength
    if (total > max) {
      await reader.cancel().catch(() => undefined)
      return { bytes: Buffer.concat(chunks).subarray(0, max), cut: true }
    }
  }
  return { bytes: chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks), cut: false }
}

/** Bytes as JSON; undefined for bytes that are not JSON. */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch {
    return undefined
  }
}

/** A capped body as JSON; undefined for a body that is not JSON or was cut. */
export async function readJsonCapped(response: Response, max: number): Promise<unknown> {
  const { bytes, cut } = await readCapped(response, max)
  return cut ? undefined : parseJson(bytes)
}

/** A reason to show: at most REASON_CHARS, saying where it was cut. */
export function shortReason(reason: string, cut = false): string {
  return reason.length > REASON_CHARS || cut ? `${reason.slice(0, REASON_CHARS)}… (cut at 2 KB)` : reason
}

/**
 * The reason in an error body that was cut before its end (so it is not whole JSON): the
 * start of its `text`, `message` or `detail` string, else the text itself.
 */
export function partialReason(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  const field = /"(?:text|message|detail)"\s*:\s*"((?:[^"\\]|\\.)*)/.exec(text)?.[1]
  if (field === undefined) return text
  try {
    return JSON.parse(`"${field.replace(/\\$/, '')}"`) as string
  } catch {
    return field
  }
}

/** A redirect is never followed: models would come from a host the user never entered. */
export function refuseRedirect(response: Response, url: string): void {
  if (response.status < 300 || response.status > 399) return
  const location = shortReason(response.headers.get('location') ?? 'an address it did not give')
  throw new AppError(
    'BACKEND_UNAVAILABLE',
    `The server at ${url} answered with a redirect to ${location}. MeshCache does not follow redirects: add that address itself if you trust it.`,
  )
}
