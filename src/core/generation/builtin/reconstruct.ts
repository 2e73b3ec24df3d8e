import sharp from 'sharp'
import type { Quality } from '../../../shared/contract'
import { AppError, CancelledError } from '../../../shared/errors'
import type { GeneratedModel, GenerateProgress } from '../generator'
import { decodeRgba, limitDecodes, type RgbaImage, SHARP_INPUT } from '../image-input'
import { writeGlb } from './glb'
import { inflate } from './inflate'
import { segment } from './mask'
import { buildMesh } from './mesh'
import { BUILTIN_QUALITY, BUILTIN_VERSION } from './quality'

export interface ReconstructOptions {
  onProgress?: (progress: GenerateProgress) => void
  /** Checked between stages; the worker is terminated outright for a hard stop. */
  signal?: AbortSignal
}

/**
 * Single-image reconstruction by silhouette inflation: find the object's outline, inflate it
 * into a round body, mirror a back onto it, texture the front with the image. Deterministic:
 * the same input gives a byte-identical GLB.
 */
export async function reconstruct(
  image: Uint8Array,
  quality: Quality,
  options: ReconstructOptions = {},
): Promise<GeneratedModel> {
  options.onProgress?.({ stage: 'decoding', fraction: 0.02 })
  return reconstructFrom(await readPicture(image, quality), quality, options)
}

/** What reconstruction reads of the picture: small, so a worker gets it instead of the file. */
export interface PictureAtWorkingSize {
  /** The picture fitted inside the quality's grid. */
  grid: RgbaImage
  /** The base-colour texture, PNG. */
  texture: Uint8Array
}

/**
 * Decodes the picture at the quality's working sizes, in the process-wide decode lane
 * (limitDecodes): the full-size decode is what costs memory, so it waits its turn with
 * keying, thumbnails and perceptual hashes instead of running beside them in the worker.
 */
export function readPicture(image: Uint8Array, quality: Quality): Promise<PictureAtWorkingSize> {
  const { gridSide, textureSide } = BUILTIN_QUALITY[quality]
  return limitDecodes(async () => ({
    grid: await decodeRgba(image, gridSide),
    texture: await textureOf(image, textureSide),
  }))
}

/** The reconstruction proper, from the picture at its working sizes (in the worker thread). */
export async function reconstructFrom(
  { grid, texture }: PictureAtWorkingSize,
  quality: Quality,
  options: ReconstructOptions = {},
): Promise<GeneratedModel> {
  const report = (stage: GenerateProgress['stage'], fraction: number): void => {
    if (options.signal?.aborted) throw new CancelledError()
    options.onProgress?.({ stage, fraction })
  }

  report('segmenting', 0.15)
  const mask = segment(grid)
  report('inflating', 0.25)
  const heights = inflate(mask, (f) => options.onProgress?.({ stage: 'inflating', fraction: 0.25 + f * 0.45 }))
  report('meshing', 0.7)
  const mesh = buildMesh(mask, heights)
  report('encoding', 0.85)
  const glb = await writeGlb(mesh, {
    texture,
    extras: { generator: 'builtin', version: BUILTIN_VERSION, quality, mask: mask.source },
  })
  report('done', 1)
  return { glb, vertices: mesh.positions.length / 3, triangles: mesh.indices.length / 3 }
}

/** The image itself as the base-colour texture: oriented, sRGB, PNG, at the quality's size. */
async function textureOf(image: Uint8Array, side: number): Promise<Uint8Array> {
  try {
    const png = await sharp(image, SHARP_INPUT)
      .autoOrient()
      .toColourspace('srgb')
      .resize(side, side, { fit: 'inside' })
      .removeAlpha()
      .png({ compressionLevel: 6, adaptiveFiltering: false })
      .toBuffer()
    return new Uint8Array(png.buffer, png.byteOffset, png.byteLength)
  } catch {
    throw new AppError('CORRUPT_IMAGE', 'The image could not be decoded: it may be damaged or incomplete.')
  }
}
