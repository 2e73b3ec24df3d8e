import type { Quality } from '../../shared/contract'
import { BoundedCache, cached } from '../cache'
import { sha256 } from '../sha256'
import type { Generator } from './generator'
import { pixelDigest } from './image-input'

/** Unicode NFC, trimmed, inner whitespace collapsed: prompts that read the same key the same. */
export function normalizePrompt(prompt: string): string {
  return prompt.normalize('NFC').trim().replace(/\s+/gu, ' ')
}

export interface KeyParts {
  /** From `pixelDigest`. */
  pixels: string
  prompt: string
  quality: Quality
  seed: number
  backend: string
  /** The backend's version and resolved parameters (Generator.identity). */
  identity: Record<string, string | number | boolean>
  format: 'glb'
}

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
  return sha256(canonicalJson({ v: 1, ...parts, prompt: normalizePrompt(parts.prompt) }))
}

/**
 * Digests an image by its decoded pixels (EXIF-rotated 8-bit RGBA plus its size), so the same
 * picture saved as PNG or as lossless WebP is the same request. The digest is cached by the
 * hash of the raw upload (with `cached()`), so a byte-identical upload skips decoding (it was
 * validated before), and identical uploads arriving together are decoded once.
 */
export class PixelDigester {
  private readonly known = new BoundedCache<string>({
    maxItems: 10_000,
    maxBytes: 10_000 * 64,
    sizeOf: (s) => s.length,
  })
  readonly digest: (image: Uint8Array) => Promise<string> = cached(
    this.known,
    (image: Uint8Array, _signal: AbortSignal) => pixelDigest(image),
    { key: (image: Uint8Array) => sha256(image) },
  )

  /** How many digests needed a decode, and how many came from the raw-bytes fast path. */
  get counts(): { decoded: number; remembered: number } {
    const { loads, hits } = this.known.stats()
    return { decoded: loads, remembered: hits }
  }
}

/** Turns a parsed request into its cache key for one generator: pixels digested once per upload. */
export class RequestKeys {
  readonly digester = new PixelDigester()

  async keyOf(
    request: { image: Uint8Array; prompt: string; quality: Quality; seed: number },
    generator: Pick<Generator, 'id' | 'identity'>,
  ): Promise<string> {
    return requestKey({
      pixels: await this.digester.digest(request.image),
      prompt: request.prompt,
      quality: request.quality,
      seed: request.seed,
      backend: generator.id,
      identity: generator.identity(request.quality),
      format: 'glb',
    })
  }
}
