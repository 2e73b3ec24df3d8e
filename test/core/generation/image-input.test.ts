import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { decodeRgba, inspectImage, sniffFormat } from '../../../src/core/generation/image-input'
import { AppError } from '../../../src/shared/errors'
import { bombPng, fixture } from '../../support/fixtures'

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'ok'
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    return (error as AppError).code
  }
}

describe('image input validation', () => {
  const chair = fixture('triposr-chair')

  it('accepts PNG, JPEG and WebP and reports their size', async () => {
    expect(await inspectImage(chair)).toEqual({ format: 'png', width: 512, height: 512 })
    const jpeg = new Uint8Array(await sharp(chair).jpeg().toBuffer())
    expect((await inspectImage(jpeg)).format).toBe('jpeg')
    const webp = new Uint8Array(await sharp(chair).webp().toBuffer())
    expect((await inspectImage(webp)).format).toBe('webp')
  })

  it.each([
    ['a zero-byte file', new Uint8Array(0), 'EMPTY_FILE'],
    ['random bytes', new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), 'UNSUPPORTED_FORMAT'],
    ['a text file named .png', new TextEncoder().encode('just some text, not an image'), 'UNSUPPORTED_FORMAT'],
    [
      'an SVG',
      new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
      'UNSUPPORTED_FORMAT',
    ],
    ['a decompression bomb', bombPng(), 'IMAGE_TOO_LARGE'],
  ])('refuses %s with a clear error', async (_name, bytes, code) => {
    expect(await codeOf(inspectImage(bytes))).toBe(code)
  })

  it('refuses a file over the upload limit before decoding it', async () => {
    const huge = new Uint8Array(26 * 1024 * 1024)
    huge.set(chair.subarray(0, 64))
    expect(await codeOf(inspectImage(huge))).toBe('FILE_TOO_LARGE')
  })

  it('refuses a truncated PNG', async () => {
    const truncated = chair.subarray(0, chair.length / 2)
    const inspected = await codeOf(inspectImage(truncated))
    const decoded = await codeOf(decodeRgba(truncated))
    expect([inspected, decoded]).toContain('CORRUPT_IMAGE')
    expect(decoded).toBe('CORRUPT_IMAGE')
  })

  it('refuses an image larger than 4096 pixels on a side', async () => {
    const wide = new Uint8Array(
      await sharp({ create: { width: 4100, height: 8, channels: 3, background: '#888' } })
        .png()
        .toBuffer(),
    )
    await expect(inspectImage(wide)).rejects.toThrow(/4100×8 pixels/)
  })

  it('refuses animated images', async () => {
    const frame = (colour: string): Promise<Buffer> =>
      sharp({ create: { width: 16, height: 16, channels: 4, background: colour } })
        .png()
        .toBuffer()
    const animated = new Uint8Array(
      await sharp([await frame('#f00'), await frame('#0f0')], { join: { animated: true } })
        .webp()
        .toBuffer(),
    )
    expect(await codeOf(inspectImage(animated))).toBe('UNSUPPORTED_FORMAT')
  })

  it('decodes 16-bit, greyscale and CMYK images to 8-bit RGBA', async () => {
    const variants = {
      png16: await sharp(chair).toColourspace('rgb16').png().toBuffer(),
      grey: await sharp(chair).greyscale().png().toBuffer(),
      cmyk: await sharp(chair).flatten({ background: '#fff' }).toColourspace('cmyk').jpeg().toBuffer(),
    }
    expect((await sharp(variants.png16).metadata()).depth).toBe('ushort')
    expect((await sharp(variants.cmyk).metadata()).space).toBe('cmyk')
    for (const bytes of Object.values(variants)) {
      const input = new Uint8Array(bytes)
      await expect(inspectImage(input)).resolves.toMatchObject({ width: 512, height: 512 })
      const rgba = await decodeRgba(input, 32)
      expect(rgba.data.length).toBe(rgba.width * rgba.height * 4)
      expect(Math.max(rgba.width, rgba.height)).toBe(32)
    }
  })

  it('sniffs formats by content only', () => {
    expect(sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg')
    expect(sniffFormat(new Uint8Array([0x89, 0x50]))).toBeUndefined()
  })
})
