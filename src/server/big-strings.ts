import { randomBytes } from 'node:crypto'

/** String values at least this many bytes long are set aside rather than parsed. */
export const BIG_STRING_BYTES = 256 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Where the long string literals of a JSON text are, as byte ranges of their contents across
 * the chunks the body arrived in: JSON's own string syntax (a quote opens and closes, a
 * backslash escapes the next byte), so a quote inside a string never counts. A literal with
 * an escape in it is not set aside (its bytes are not its value).
 */
function longLiterals(chunks: readonly Buffer[], min: number): [number, number][] {
  const found: [number, number][] = []
  let inString = false
  let escaped = false
  let sawEscape = false
  let start = 0
  let base = 0
  for (const chunk of chunks) {
    let at = 0
    let backslash = -2
    while (at < chunk.length) {
      if (escaped) {
        escaped = false
        at++
        continue
      }
      const quote = chunk.indexOf(QUOTE, at)
      if (!inString) {
        if (quote < 0) break
        inString = true
        sawEscape = false
        start = base + quote + 1
        at = quote + 1
        continue
      }
      if (backslash !== -1 && backslash < at) backslash = chunk.indexOf(BACKSLASH, at)
      if (backslash >= 0 && (quote < 0 || backslash < quote)) {
        sawEscape = true
        escaped = true
        at = backslash + 1
        continue
      }
      if (quote < 0) break
      const end = base + quote
      if (!sawEscape && end - start >= min) found.push([start, end])
      inString = false
      at = quote + 1
    }
    base += chunk.length
  }
  return found
}

/** The bytes from `start` to `end` of the chunks, as slices of them (no copy). */
function sliced(chunks: readonly Buffer[], start: number, end: number): Buffer[] {
  const parts: Buffer[] = []
  let base = 0
  for (const chunk of chunks) {
    const from = Math.max(start - base, 0)
    const to = Math.min(end - base, chunk.length)
    if (from < to) parts.push(chunk.subarray(from, to))
    base += chunk.length
    if (base >= end) break
  }
  return parts
}

export interface AsideOptions {
  /** String values at least this many bytes long are set aside. */
  min?: number
  /**
   * A set-aside value that is base64 (optionally a data: URL) becomes its bytes, decoded from
   * the body's own bytes: no text is ever made of it. Any other value stays text.
   */
  base64AsBytes?: boolean
  /** Parses the JSON around the set-aside values (JSON.parse unless told). */
  parse?: (text: string) => unknown
  /** Called once every set-aside value has been read: from then on, nothing refers to the chunks. */
  onAllRead?: () => void
}

/**
 * Parses a large JSON body without turning its long strings (pictures, meshes in base64)
 * into text up front: the JSON around them is parsed with each one replaced by a marker, and
 * each becomes a property that reads its string from the body's bytes when first read. A
 * body whose fields are only looked at (a request refused for what it asks) costs its bytes
 * and no more; one that is used turns one field into text at a time.
 *
 * Undefined when this does not apply, and the caller parses the whole text as usual: a
 * body with no long string, or one that is not strict JSON once its long strings are set
 * aside (a lenient body, whose bytes outside strict JSON's string syntax this reader does
 * not know). A value is never changed: markers carry a per-body random tag.
 */
export function parseSettingBigStringsAside(chunks: readonly Buffer[], options: AsideOptions = {}): unknown {
  const { min = BIG_STRING_BYTES, base64AsBytes = false, parse = JSON.parse, onAllRead } = options
  const literals = longLiterals(chunks, min)
  if (literals.length === 0) return undefined
  const tag = `\u0000meshcache-aside-${randomBytes(8).toString('hex')}-`
  const parts: Buffer[] = []
  let at = 0
  let total = 0
  for (const chunk of chunks) total += chunk.length
  literals.forEach(([start, end], index) => {
    parts.push(...sliced(chunks, at, start), Buffer.from(JSON.stringify(`${tag}${index}`).slice(1, -1)))
    at = end
  })
  parts.push(...sliced(chunks, at, total))
  let parsed: unknown
  try {
    parsed = parse(Buffer.concat(parts).toString('utf8'))
  } catch {
    return undefined
  }
  const unread = new Set(literals.keys())
  const read = (marker: string): string | Uint8Array | undefined => {
    if (!marker.startsWith(tag)) return undefined
    const index = Number(marker.slice(tag.length))
    const literal = literals[index]
    if (!literal) return undefined
    const pieces = sliced(chunks, literal[0], literal[1])
    const value = (base64AsBytes && decodedBase64(pieces)) || Buffer.concat(pieces).toString('utf8')
    // Each value is a copy (bytes or text): once all are made, the chunks are needed no more.
    if (unread.delete(index) && unread.size === 0) onAllRead?.()
    return value
  }
  const restore = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return
    for (const [name, field] of Object.entries(value)) {
      if (typeof field !== 'string') {
        restore(field)
        continue
      }
      if (!field.startsWith(tag)) continue
      if (Array.isArray(value)) {
        value[Number(name)] = read(field)
        continue
      }
      // Read when first asked for, then kept as an ordinary value.
      Object.defineProperty(value, name, {
        configurable: true,
        enumerable: true,
        get() {
          const text = read(field)
          Object.defineProperty(value, name, { value: text, writable: true, enumerable: true, configurable: true })
          return text
        },
      })
    }
  }
  restore(parsed)
  return parsed
}

const DATA_URL_PREFIX = /^data:[^,]*;base64,/
/** base64's 64 letters, as a byte table. */
const BASE64_LETTER = new Uint8Array(256)
for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
  BASE64_LETTER[letter.charCodeAt(0)] = 1
}
const EQUALS = 0x3d
/** Bytes enough to hold a data: URL's prefix. */
const PREFIX_BYTES = 256

/** The pieces' first `n` bytes, joined: only those are copied, however large the pieces are. */
function firstBytes(pieces: readonly Buffer[], n: number): Buffer {
  const taken: Buffer[] = []
  let have = 0
  for (const piece of pieces) {
    if (have >= n) break
    const part = piece.subarray(0, n - have)
    taken.push(part)
    have += part.length
  }
  return Buffer.concat(taken, have)
}

/** The pieces without their first `n` bytes. */
function skipped(pieces: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = []
  let left = n
  for (const piece of pieces) {
    if (left >= piece.length) {
      left -= piece.length
      continue
    }
    out.push(left > 0 ? piece.subarray(left) : piece)
    left = 0
  }
  return out
}

/**
 * The bytes a base64 literal (its pieces, as they arrived) stands for, or undefined when it is
 * not strict base64: letters only, then at most two `=` at the very end (what the upload
 * schema accepts, without whitespace). Decoded piece by piece, four letters at a time, into
 * one buffer of the exact size, so a 13 MB picture in base64 costs its 10 MB of bytes and
 * small, short-lived strings, not a 13 MB string (measured in bench/memory.ts).
 */
function decodedBase64(pieces: readonly Buffer[]): Uint8Array | undefined {
  // A data: URL's prefix is short (its first bytes, across however many pieces they came in).
  const start = firstBytes(pieces, PREFIX_BYTES).toString('latin1')
  const prefix = DATA_URL_PREFIX.exec(start)?.[0].length ?? 0
  const parts = prefix ? skipped(pieces, prefix) : pieces
  let letters = 0
  let padding = 0
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const byte = part[i] as number
      if (byte === EQUALS) padding++
      else if (padding > 0 || BASE64_LETTER[byte] === 0) return undefined
      else letters++
    }
  }
  if (padding > 2 || (letters + padding) % 4 === 1) return undefined
  const out = Buffer.allocUnsafe(Math.floor((letters * 3) / 4))
  let written = 0
  let carry = ''
  for (const part of parts) {
    const text = carry + part.toString('latin1')
    const whole = text.length - (text.length % 4)
    written += out.write(text.slice(0, whole), written, 'base64')
    carry = text.slice(whole)
  }
  if (carry) written += out.write(carry, written, 'base64')
  return written === out.length ? out : out.subarray(0, written)
}
