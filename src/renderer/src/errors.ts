import type { ErrorPayload } from '../../shared/errors'

/** Errors that are about the picture itself: shown next to the image picker, not under Generate. */
const IMAGE_ERRORS = new Set<ErrorPayload['code']>([
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'NO_OBJECT',
])

export function isImageError(error: ErrorPayload): boolean {
  return IMAGE_ERRORS.has(error.code)
}
