import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { normalizePrompt, PixelDigester, requestKey } from '../../../src/core/generation/request-key'
import { shortKey } from '../../../src/shared/addresses'
import { fixture } from '../../support/fixtures'

const base = {
  backend: 'builtin',
  params: { version: '1.0.0', gridSide: 192 },
  format: 'glb' as const,
}

describe('request keys', () => {
  const digester = new PixelDigester()
  const teapot = fixture('triposr-teapot')

  it('gives the same key for the same picture as PNG and as lossless WebP', async () => {
    const webp = new Uint8Array(await sharp(teapot).webp({ lossless: true }).toBuffer())
    const recompressed = new Uint8Array(await sharp(teapot).png({ compressionLevel: 1 }).toBuffer())
    expect(Buffer.compare(Buffer.from(webp), Buffer.from(teapot))).not.toBe(0)
    const a = await digester.digest(teapot)
    expect(await digester.digest(webp)).toBe(a)
    expect(await digester.digest(recompressed)).toBe(a)
    expect(a).toMatch(/^[0-9a-f]{64}$/)
  })

  it('applies EXIF orientation before hashing pixels', async () => {
    // Stored turned a quarter anticlockwise, tagged "rotate 90° clockwise to display".
    const stored = await sharp(teapot).rotate(-90).toBuffer()
    const tagged = new Uint8Array(
      await sharp(stored).withMetadata({ orientation: 6 }).webp({ lossless: true }).toBuffer(),
    )
    expect((await sharp(tagged).metadata()).orientation).toBe(6)
    expect(await digester.digest(tagged)).toBe(await digester.digest(teapot))
  })

  it('changes when one pixel changes', async () => {
    const { data, info } = await sharp(teapot).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
    data[0] = (data[0] as number) ^ 1
    const edited = new Uint8Array(
      await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
        .png()
        .toBuffer(),
    )
    expect(await digester.digest(edited)).not.toBe(await digester.digest(teapot))
  })

  it('changes with the backend and the parameters it reads, and stays put otherwise', async () => {
    const pixels = await digester.digest(teapot)
    const key = requestKey({ ...base, pixels })
    expect(requestKey({ ...base, pixels })).toBe(key)
    expect(requestKey({ ...base, pixels, backend: 'hunyuan3d-2' })).not.toBe(key)
    expect(requestKey({ ...base, pixels, params: { version: '1.0.1', gridSide: 192 } })).not.toBe(key)
    expect(requestKey({ ...base, pixels, params: { version: '1.0.0', gridSide: 384 } })).not.toBe(key)
    expect(requestKey({ ...base, pixels, params: { gridSide: 192, version: '1.0.0' } })).toBe(key)
    expect(shortKey(key)).toHaveLength(12)
  })

  it('normalizes prompt labels: whitespace and Unicode normal form', () => {
    expect(normalizePrompt('  cafe\u0301   chair\n')).toBe(normalizePrompt('caf\u00e9 chair'))
    expect(normalizePrompt('  a \n\t b  ')).toBe('a b')
  })

  it('validates before digesting, and remembers byte-identical uploads', async () => {
    const fresh = new PixelDigester()
    await expect(fresh.digest(new Uint8Array([1, 2, 3]))).rejects.toThrow(/not a PNG, JPEG or WebP/)
    const first = await fresh.digest(teapot)
    expect(fresh.counts).toEqual({ decoded: 1, remembered: 0 })
    expect(await fresh.digest(new Uint8Array(teapot))).toBe(first)
    expect(fresh.counts).toEqual({ decoded: 1, remembered: 1 })
  })

  it('decodes identical uploads that arrive together once', async () => {
    const fresh = new PixelDigester()
    const digests = await Promise.all([1, 2, 3].map(() => fresh.digest(new Uint8Array(teapot))))
    expect(new Set(digests).size).toBe(1)
    expect(fresh.counts.decoded).toBe(1)
  })
})
