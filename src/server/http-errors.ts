import type { ErrorCode } from '../shared/errors'

/** The HTTP status for each error code. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  EMPTY_FILE: 400,
  UNSUPPORTED_FORMAT: 415,
  CORRUPT_IMAGE: 400,
  IMAGE_TOO_LARGE: 413,
  FILE_TOO_LARGE: 413,
  NO_OBJECT: 422,
  BACKEND_UNAVAILABLE: 503,
  BACKEND_FAILED: 502,
  TIMEOUT: 504,
  CANCELLED: 409,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  FORBIDDEN: 403,
  INTERNAL: 500,
}
