import type { Quality } from '../../../shared/contract'

/** Long side of the working grid (mesh resolution) and of the texture, per quality. */
export const BUILTIN_QUALITY: Record<Quality, { gridSide: number; textureSide: number }> = {
  draft: { gridSide: 96, textureSide: 256 },
  standard: { gridSide: 192, textureSide: 512 },
  high: { gridSide: 384, textureSide: 1024 },
}

/** Bump when the reconstruction changes its output, so old cache entries stop matching. */
export const BUILTIN_VERSION = '1.0.0'
