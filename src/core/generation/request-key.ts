import { BoundedCache, cached } from '../cache'
import { sha256 } from '../sha256'
import type { Generator, KeyRequest } from './generator'
import { pixelDigest } from './pixel-digest'

/** Unicode NFC, trimmed, inner whitespace collapsed: prompts that read the same key the same. */
export function normalizePrompt(prompt: string): string {
  return prompt.normalize('NFC').trim().replace(/\s+/gu, ' ')
}

export interface KeyParts {
  /** From `pixelDigest`. */
  pixels: string
  backend: string
  /** What of the request the backend reads, with its version (Generator.keyParams). */
  params: Record<string, string | number | boolean>
  format: 'glb'
}

/**
 * Version of the key description. 2: keys name only what the generator reads (issue 21);
 * models stored under version-1 keys stay listed and servable by key, but no request
 * reaches them again.
 */
const KEY_VERSION = 2

/** JSON with object keys sorted at every level, so equal descriptions hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** The cache key: SHA-256 (hex) over the canonical description of the request. */
export function requestKey(parts: KeyParts): string {
  return sha256(canonicalJson({ v: KEY_VERSION, ...parts }))
}

/**
 * Digests an image by its decoded pixels (EXIF-rotated 8-bit RGBA plus its size), so the same
 * picture saved as PNG or as lossless WebP is the same request. The digest is cached by the
 * hash of the raw upload (with `cached()`), so a byte-identical upload skips decoding (it was
 * validated before), and identical uploads arriving together are decoded once.
 */
export class PixelDigester {
  private readonly digests = new BoundedCache<string>({
    maxItems: 10_000,
    maxBytes: 10_000 * 64,
    sizeOf: (s) => s.length,
  })
  readonly digest: (image: Uint8Array) => Promise<string> = cached(
    this.digests,
    (image: Uint8Array, _signal: AbortSignal) => pixelDigest(image),
    { key: (image: Uint8Array) => sha256(image) },
  )

  /** The digest of bytes seen before, without decoding anything; undefined for bytes never digested. */
  known(image: Uint8Array): string | undefined {
    return this.digests.peek(sha256(image))
  }

  /** How many digests needed a decode, and how many came from the raw-bytes fast path. */
  get counts(): { decoded: number; remembered: number } {
    const { loads, hits } = this.digests.stats()
    return { decoded: loads, remembered: hits }
  }
}

/** Turns a parsed request into its cache key for one generator: pixels digested once per upload. */
export class RequestKeys {
  readonly digester = new PixelDigester()

  async keyOf(
    request: KeyRequest & { image: Uint8Array },
    generator: Pick<Generator, 'id' | 'keyParams'>,
  ): Promise<{ key: string; params: KeyParts['params'] }> {
    const [pixels, params] = await Promise.all([this.digester.digest(request.image), generator.keyParams(request)])
    return { key: requestKey({ pixels, backend: generator.id, params, format: 'glb' }), params }
  }

  /** The key of a request whose picture's digest is known (`PixelDigester.known`): nothing is decoded. */
  async keyOfDigested(pixels: string, request: KeyRequest, generator: Pick<Generator, 'id' | 'keyParams'>) {
    return requestKey({ pixels, backend: generator.id, params: await generator.keyParams(request), format: 'glb' })
  }
}
