import { type ErrorPayload, toErrorPayload } from '../../shared/errors'

/** Errors that are about the picture itself: shown next to the image picker. */
const IMAGE_ERRORS = new Set([
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

/** Any thrown value as something to show a person. */
export function describeError(error: unknown): ErrorPayload {
  const payload = toErrorPayload(error)
  if (payload.code === 'BACKEND_UNAVAILABLE' && !payload.message) {
    return { ...payload, message: 'The generator is unreachable.' }
  }
  return payload
}
