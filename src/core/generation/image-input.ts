import pLimit from 'p-limit'
import sharp, { type Metadata } from 'sharp'
import { AppError } from '../../shared/errors'
import { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_UPLOAD_BYTES } from '../../shared/limits'

export type ImageFormat = 'png' | 'jpeg' | 'webp'

export interface ImageFacts {
  format: ImageFormat
  width: number
  height: number
}

/** Decoded pixels: 8-bit sRGB RGBA, EXIF orientation applied. */
export interface RgbaImage {
  data: Uint8Array
  width: number
  height: number
}

/** Recognizes the file by its first bytes, never by its name or declared type. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = bytes
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png'
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg'
  if (
    b.length >= 12 &&
    String.fromCharCode(b[0] ?? 0, b[1] ?? 0, b[2] ?? 0, b[3] ?? 0) === 'RIFF' &&
    String.fromCharCode(b[8] ?? 0, b[9] ?? 0, b[10] ?? 0, b[11] ?? 0) === 'WEBP'
  ) {
    return 'webp'
  }
  return undefined
}

/** sharp options shared by every decode: refuse decompression bombs before allocating. */
export const SHARP_INPUT = { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'warning' } as const

/**
 * Full-resolution decodes running at once. A 4096² picture is 64 MB of pixels; without a
 * bound, a burst of large uploads multiplies that by the number of requests.
 */
export const MAX_CONCURRENT_DECODES = 1
const decodeSlots = pLimit(MAX_CONCURRENT_DECODES)

/** Runs a decode when a slot is free (see MAX_CONCURRENT_DECODES). */
export function limitDecodes<T>(decode: () => Promise<T>): Promise<T> {
  return decodeSlots(decode)
}

/**
 * Checks an upload and reads its header. Throws an AppError a user can act on; reads no
 * more than the header, so a bad file costs little.
 */
export async function inspectImage(bytes: Uint8Array): Promise<ImageFacts> {
  if (bytes.byteLength === 0) throw new AppError('EMPTY_FILE', 'The file is empty.')
  if (bytes.byteLength > MAX_UPLOAD_BYTES) {
    throw new AppError('FILE_TOO_LARGE', `The file is larger than ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB.`)
  }
  const format = sniffFormat(bytes)
  if (!format) {
    throw new AppError('UNSUPPORTED_FORMAT', 'This file is not a PNG, JPEG or WebP image.')
  }
  let metadata: Metadata
  try {
    // Header only: no pixels are decoded here, so the size check below can name the real size.
    metadata = await sharp(bytes, { ...SHARP_INPUT, limitInputPixels: false }).metadata()
  } catch {
    throw new AppError('CORRUPT_IMAGE', 'The image could not be read: it may be damaged or incomplete.')
  }
  const { width, height, pages } = metadata
  if (!width || !height) {
    throw new AppError('CORRUPT_IMAGE', 'The image could not be read: it has no size.')
  }
  if ((pages ?? 1) > 1) {
    throw new AppError('UNSUPPORTED_FORMAT', 'Animated images are not supported; use a single still image.')
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new AppError(
      'IMAGE_TOO_LARGE',
      `The image is ${width}×${height} pixels; the largest allowed is ${MAX_IMAGE_SIDE}×${MAX_IMAGE_SIDE}.`,
    )
  }
  // EXIF orientations 5 to 8 turn the picture a quarter: width and height swap when applied.
  const turned = (metadata.orientation ?? 1) >= 5
  return { format, width: turned ? height : width, height: turned ? width : height }
}

/**
 * Decodes to 8-bit sRGB RGBA with EXIF orientation applied, optionally fitted inside a
 * square of `maxSide`. 16-bit, greyscale and CMYK inputs all come out the same way.
 */
export async function decodeRgba(bytes: Uint8Array, maxSide?: number): Promise<RgbaImage> {
  try {
    let pipeline = sharp(bytes, SHARP_INPUT).autoOrient().toColourspace('srgb')
    if (maxSide !== undefined) pipeline = pipeline.resize(maxSide, maxSide, { fit: 'inside', kernel: 'lanczos3' })
    const { data, info } = await pipeline.ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    }
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('CORRUPT_IMAGE', 'The image could not be decoded: it may be damaged or incomplete.')
  }
}

/** The most pixels a picture may have to be scaled down rather than refused (sharp's own default bound). */
const MAX_SCALABLE_PIXELS = 268_402_689

/**
 * A picture as Hunyuan3D's clients send it (upstream opens any format PIL reads, at any
 * size): kept as it is when MeshCache reads it directly, else scaled inside MAX_IMAGE_SIDE and
 * re-encoded as PNG. A file that is no picture at all is still refused.
 */
export async function fitPicture(bytes: Uint8Array): Promise<Uint8Array> {
  if (sniffFormat(bytes)) {
    try {
      await inspectImage(bytes)
      return bytes
    } catch (error) {
      if (!(error instanceof AppError) || (error.code !== 'IMAGE_TOO_LARGE' && error.code !== 'UNSUPPORTED_FORMAT')) {
        throw error
      }
    }
  }
  try {
    const png = await limitDecodes(() =>
      sharp(bytes, { limitInputPixels: MAX_SCALABLE_PIXELS, failOn: 'warning' })
        .autoOrient()
        .resize(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE, { fit: 'inside', withoutEnlargement: true })
        .png()
        .toBuffer(),
    )
    return new Uint8Array(png.buffer, png.byteOffset, png.byteLength)
  } catch {
    throw new AppError('UNSUPPORTED_FORMAT', 'The picture could not be read: it is damaged or not an image.')
  }
}
