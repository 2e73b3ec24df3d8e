import { createHash } from 'node:crypto'
import type { Quality } from '../../shared/contract'
import { BoundedCache } from '../cache'
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

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
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
 * picture saved as PNG or as lossless WebP is the same request. Remembers the digest by the
 * hash of the raw upload, so a byte-identical upload skips decoding (and was validated before).
 */
export class PixelDigester {
  private readonly known = new BoundedCache<string>({
    maxItems: 10_000,
    maxBytes: 10_000 * 64,
    sizeOf: (s) => s.length,
  })
  /** How many digests needed a decode, and how many came from the raw-bytes fast path. */
  readonly counts = { decoded: 0, remembered: 0 }

  async digest(image: Uint8Array): Promise<string> {
    const raw = sha256(image)
    const remembered = this.known.peek(raw)
    if (remembered !== undefined) {
      this.counts.remembered++
      return remembered
    }
    const digest = await pixelDigest(image)
    this.counts.decoded++
    this.known.set(raw, digest)
    return digest
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
