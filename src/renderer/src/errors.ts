import { type ErrorPayload, IMAGE_ERROR_CODES } from '../../shared/errors'

const IMAGE_ERRORS = new Set<string>(IMAGE_ERROR_CODES)

/** Errors about the picture itself are shown next to the image picker, not under Generate. */
export function isImageError(error: ErrorPayload): boolean {
  return IMAGE_ERRORS.has(error.code)
}
