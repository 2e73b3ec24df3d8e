import { AppError } from '../../../shared/errors'
import type { RgbaImage } from '../image-input'

/** A binary foreground mask over the image grid: 1 = object. */
export interface Mask {
  data: Uint8Array
  width: number
  height: number
  area: number
  /** How the foreground was found. */
  source: 'alpha' | 'keyed'
}

/** Fewer foreground pixels than this share of the image means there is no object. */
const MIN_OBJECT_SHARE = 0.005
/** An image is treated as cut out when at least this share of its pixels is transparent. */
const MIN_TRANSPARENT_SHARE = 0.01

/**
 * Finds the object: from the alpha channel when the image is cut out, otherwise by keying out
 * the background colour estimated from the border. Keeps the connected pieces that matter
 * (a hamburger's separate garnish, a flamingo's legs) and drops specks, fills specks inside
 * them, and keeps real holes (a teapot's handle) open.
 */
export function segment(image: RgbaImage): Mask {
  const { data, width, height } = image
  const pixels = width * height
  let transparent = 0
  for (let i = 0; i < pixels; i++) if ((data[i * 4 + 3] as number) < 250) transparent++

  const cutOut = transparent >= pixels * MIN_TRANSPARENT_SHARE
  const raw = cutOut ? alphaMask(image) : keyedMask(image)
  const kept = significantComponents(raw, width, height)
  const area = fillSmallHoles(kept, width, height, cutOut ? 0.001 : 0.003)
  if (area < pixels * MIN_OBJECT_SHARE) {
    throw new AppError(
      'NO_OBJECT',
      'No object was found in the image: it looks empty or uniform. Use a picture of one object on a plain or transparent background.',
    )
  }
  return { data: kept, width, height, area, source: cutOut ? 'alpha' : 'keyed' }
}

function alphaMask({ data, width, height }: RgbaImage): Uint8Array {
  const mask = new Uint8Array(width * height)
  for (let i = 0; i < mask.length; i++) mask[i] = (data[i * 4 + 3] as number) >= 128 ? 1 : 0
  return mask
}

/** Background colour = per-channel median of a two-pixel border; tolerance from its spread. */
function keyedMask({ data, width, height }: RgbaImage): Uint8Array {
  const border: number[] = []
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x < 2 || y < 2 || x >= width - 2 || y >= height - 2) border.push(y * width + x)
    }
  }
  const channelMedian = (c: number): number => medianOf(border.map((i) => data[i * 4 + c] as number))
  const bg = [channelMedian(0), channelMedian(1), channelMedian(2)] as const
  const distance = (i: number): number =>
    Math.hypot(
      (data[i * 4] as number) - bg[0],
      (data[i * 4 + 1] as number) - bg[1],
      (data[i * 4 + 2] as number) - bg[2],
    )
  const spread = percentileOf(
    border.map((i) => distance(i)),
    0.95,
  )
  const tolerance = Math.min(80, Math.max(24, spread * 2))
  const mask = new Uint8Array(width * height)
  for (let i = 0; i < mask.length; i++) mask[i] = distance(i) > tolerance ? 1 : 0
  return mask
}

function medianOf(values: number[]): number {
  return percentileOf(values, 0.5)
}

function percentileOf(values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

/**
 * Labels 4-connected regions of pixels equal to `value` with an explicit stack (no recursion).
 * Returns each region's pixel list and whether it touches the image border.
 */
function regions(
  mask: Uint8Array,
  width: number,
  height: number,
  value: number,
): { pixels: number[]; border: boolean }[] {
  const seen = new Uint8Array(mask.length)
  const found: { pixels: number[]; border: boolean }[] = []
  const stack: number[] = []
  for (let start = 0; start < mask.length; start++) {
    if (seen[start] || mask[start] !== value) continue
    const pixels: number[] = []
    let border = false
    seen[start] = 1
    stack.push(start)
    while (stack.length > 0) {
      const i = stack.pop() as number
      pixels.push(i)
      const x = i % width
      const y = (i - x) / width
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) border = true
      const visit = (j: number): void => {
        if (!seen[j] && mask[j] === value) {
          seen[j] = 1
          stack.push(j)
        }
      }
      if (x > 0) visit(i - 1)
      if (x < width - 1) visit(i + 1)
      if (y > 0) visit(i - width)
      if (y < height - 1) visit(i + width)
    }
    found.push({ pixels, border })
  }
  return found
}

/** Keeps every 4-connected piece of at least 0.5% of the largest one's area: real parts, not specks. */
function significantComponents(mask: Uint8Array, width: number, height: number): Uint8Array {
  const pieces = regions(mask, width, height, 1)
  const largest = pieces.reduce((most, piece) => Math.max(most, piece.pixels.length), 0)
  const minimum = Math.max(8, largest * 0.005)
  const kept = new Uint8Array(mask.length)
  for (const piece of pieces) {
    if (piece.pixels.length >= minimum) for (const i of piece.pixels) kept[i] = 1
  }
  return kept
}

/**
 * Fills enclosed background regions smaller than `share` of the object's area (specks from
 * highlights or noise); larger enclosed regions are real holes and stay open. Returns the area.
 */
function fillSmallHoles(mask: Uint8Array, width: number, height: number, share: number): number {
  let area = 0
  for (const v of mask) area += v
  const limit = Math.max(4, area * share)
  for (const region of regions(mask, width, height, 0)) {
    if (region.border || region.pixels.length >= limit) continue
    for (const i of region.pixels) mask[i] = 1
    area += region.pixels.length
  }
  return area
}
