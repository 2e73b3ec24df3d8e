import sharp from 'sharp'
import { limitDecodes, SHARP_INPUT } from '../generation/image-input'

/** Longest side of a thumbnail, in pixels: large enough to recognise the object in the library grid. */
export const THUMBNAIL_SIDE = 192

/** A small WebP of the picture for lists and offers; undefined if it cannot be made (never a failure). */
export async function makeThumbnail(image: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    return await limitDecodes(() =>
      sharp(image, SHARP_INPUT)
        .autoOrient()
        .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside' })
        .webp({ quality: 70 })
        .toBuffer(),
    )
  } catch {
    return undefined
  }
}
