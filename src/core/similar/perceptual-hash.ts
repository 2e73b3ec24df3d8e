import sharp from 'sharp'
import phash from 'sharp-phash'
import { decodeRgba, limitDecodes } from '../generation/image-input'
import { formatHash64 } from './similarity-index'

/** What transparency is laid on before hashing: white, as editors do when saving a JPEG. */
export const BACKGROUND: readonly [number, number, number] = [255, 255, 255]
/** The picture is reduced to this before finding the object (the hash itself works on 32×32). */
const WORKING_SIDE = 160
/**
 * The object is cut exactly at its bounding box. (Entries written before crop-robust
 * signatures kept a 4 % margin, `LEGACY_MARGIN`: a crop that cuts into the object removes the
 * margin on that side, which alone moved the hash by up to 20 bits.)
 */
const MARGIN = 0
const LEGACY_MARGIN = 0.04
/**
 * A stored picture is also indexed by crops of its object, from each side in turn, by these
 * shares of its width or height: a picture cropped by up to 5 % on a side (into the object or
 * not) then lies within a few bits of one of them. Chosen by measurement (bench/similar.ts):
 * with {2 %, 5 %} every cropped, re-encoded, resized and re-lit variant of the fixtures lies
 * within 5 bits, and the nearest different object or mirror image 18 bits away.
 */
export const CROP_SHARES = [0.02, 0.05] as const

/** The picture laid on the background colour and cropped to its object: RGB pixels. */
export interface ObjectPicture {
  data: Uint8Array
  width: number
  height: number
}

/** A pixel belongs to the object when it differs from the border's colour by more than this (sum over RGB). */
const OBJECT_CONTRAST = 48

/**
 * Reduces a picture to its object: transparency laid on `background`, then cropped (with a
 * small margin) to the pixels that differ from the colour of the picture's border. The same
 * object then hashes alike whatever its margin (a crop of a few percent) and whether it was
 * cut out or saved onto a plain background of that colour.
 */
export async function objectPicture(
  image: Uint8Array,
  background = BACKGROUND,
  margin = MARGIN,
): Promise<ObjectPicture> {
  return cutToObject(await flattened(image, background), margin)
}

/** The picture, reduced to the working size, laid on `background`: RGB pixels. */
async function flattened(image: Uint8Array, background: readonly [number, number, number]): Promise<ObjectPicture> {
  const { data, width, height } = await decodeRgba(image, WORKING_SIDE)
  const rgb = new Uint8Array(width * height * 3)
  for (let i = 0; i < width * height; i++) {
    const alpha = (data[i * 4 + 3] as number) / 255
    for (let c = 0; c < 3; c++)
      rgb[i * 3 + c] = Math.round((data[i * 4 + c] as number) * alpha + (background[c] as number) * (1 - alpha))
  }
  return { data: rgb, width, height }
}

/** The part of a flattened picture that holds its object (with `margin` around it). */
function cutToObject({ data: rgb, width, height }: ObjectPicture, margin: number): ObjectPicture {
  const border = borderColour(rgb, width, height)
  let left = width
  let top = height
  let right = -1
  let bottom = -1
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      const contrast =
        Math.abs((rgb[i] as number) - border[0]) +
        Math.abs((rgb[i + 1] as number) - border[1]) +
        Math.abs((rgb[i + 2] as number) - border[2])
      if (contrast <= OBJECT_CONTRAST) continue
      left = Math.min(left, x)
      right = Math.max(right, x)
      top = Math.min(top, y)
      bottom = Math.max(bottom, y)
    }
  }
  if (right < 0) return { data: rgb, width, height }
  const marginX = Math.round((right - left + 1) * margin)
  const marginY = Math.round((bottom - top + 1) * margin)
  const x0 = Math.max(0, left - marginX)
  const y0 = Math.max(0, top - marginY)
  const outWidth = Math.min(width, right + marginX + 1) - x0
  const outHeight = Math.min(height, bottom + marginY + 1) - y0
  return region({ data: rgb, width, height }, x0, y0, outWidth, outHeight)
}

/** A rectangle of a picture. */
function region(picture: ObjectPicture, x0: number, y0: number, width: number, height: number): ObjectPicture {
  const out = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const from = ((y + y0) * picture.width + x0) * 3
    out.set(picture.data.subarray(from, from + width * 3), y * width * 3)
  }
  return { data: out, width, height }
}

/** The object picture with `share` of it cut from one side: what a crop into the object leaves. */
export function cutFromSide(
  picture: ObjectPicture,
  side: 'left' | 'right' | 'top' | 'bottom',
  share: number,
): ObjectPicture {
  const dx = side === 'left' || side === 'right' ? Math.round(picture.width * share) : 0
  const dy = side === 'top' || side === 'bottom' ? Math.round(picture.height * share) : 0
  return region(
    picture,
    side === 'left' ? dx : 0,
    side === 'top' ? dy : 0,
    Math.max(1, picture.width - dx),
    Math.max(1, picture.height - dy),
  )
}

/** The median colour of the picture's outermost pixels. */
function borderColour(rgb: Uint8Array, width: number, height: number): [number, number, number] {
  const channels: number[][] = [[], [], []]
  const add = (x: number, y: number): void => {
    for (let c = 0; c < 3; c++) channels[c]?.push(rgb[(y * width + x) * 3 + c] as number)
  }
  for (let x = 0; x < width; x++) {
    add(x, 0)
    add(x, height - 1)
  }
  for (let y = 1; y < height - 1; y++) {
    add(0, y)
    add(width - 1, y)
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1] ?? 0
  return [median(channels[0] ?? []), median(channels[1] ?? []), median(channels[2] ?? [])]
}

const raw = (picture: ObjectPicture) => ({
  raw: { width: picture.width, height: picture.height, channels: 3 as const },
})

/** DCT perceptual hash (sharp-phash) of an object picture, as 16 hex digits. */
export async function pHash64(picture: ObjectPicture): Promise<string> {
  const bits = await phash(
    Buffer.from(picture.data.buffer, picture.data.byteOffset, picture.data.byteLength),
    raw(picture),
  )
  return formatHash64({ hi: Number.parseInt(bits.slice(0, 32), 2) >>> 0, lo: Number.parseInt(bits.slice(32), 2) >>> 0 })
}

/** Difference hash: 9×8 grey pixels, one bit per horizontal neighbour pair, as 16 hex digits. */
export async function dHash64(picture: ObjectPicture): Promise<string> {
  const grey = await sharp(picture.data, raw(picture)).greyscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer()
  let hi = 0
  let lo = 0
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const bit = (grey[y * 9 + x] as number) < (grey[y * 9 + x + 1] as number) ? 1 : 0
      const n = y * 8 + x
      if (n < 32) hi = ((hi << 1) | bit) >>> 0
      else lo = ((lo << 1) | bit) >>> 0
    }
  }
  return formatHash64({ hi, lo })
}

const SIDES = ['left', 'right', 'top', 'bottom'] as const

/**
 * What a stored picture is indexed by, as comma-separated hex: the pHash of its object, then
 * those of its object cut by each of CROP_SHARES from each side (see bench/similar.ts for the
 * measurements behind the choice).
 */
export async function pictureSignature(image: Uint8Array): Promise<string> {
  return limitDecodes(async () => {
    const object = cutToObject(await flattened(image, BACKGROUND), MARGIN)
    const crops = CROP_SHARES.flatMap((share) => SIDES.map((side) => cutFromSide(object, side, share)))
    const hashes = await Promise.all([object, ...crops].map((picture) => pHash64(picture)))
    return hashes.join(',')
  })
}

/** What a picture is looked up by: its object's pHash, and the same with the margin older entries were hashed with. */
export async function pictureQuery(image: Uint8Array): Promise<{ phash: string; legacy: string }> {
  return limitDecodes(async () => {
    const picture = await flattened(image, BACKGROUND)
    const [phash, legacy] = await Promise.all([
      pHash64(cutToObject(picture, MARGIN)),
      pHash64(cutToObject(picture, LEGACY_MARGIN)),
    ])
    return { phash, legacy }
  })
}
