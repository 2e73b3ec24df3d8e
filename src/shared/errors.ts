/** Failures caused by the picture itself: the renderer shows them next to the image picker. */
export const IMAGE_ERROR_CODES = [
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'NO_OBJECT',
] as const

/**
 * Every failure the user can see has a code (for programs) and a message (for people).
 * Errors cross IPC and HTTP as `{ code, message }`.
 */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  ...IMAGE_ERROR_CODES,
  'BACKEND_UNAVAILABLE',
  'BACKEND_FAILED',
  'TIMEOUT',
  'CANCELLED',
  'NOT_FOUND',
  'RATE_LIMITED',
  'FORBIDDEN',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'INTERNAL',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ErrorPayload {
  code: ErrorCode
  message: string
}

export class AppError extends Error {
  override readonly name = 'AppError'
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
  }

  toJSON(): ErrorPayload {
    return { code: this.code, message: this.message }
  }
}

/** The one cancellation error: a request stopped by its caller (Cancel, a closed connection). */
export class CancelledError extends AppError {
  constructor() {
    super('CANCELLED', 'Generation was cancelled.')
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError'
}

export function isErrorPayload(value: unknown): value is ErrorPayload {
  if (typeof value !== 'object' || value === null) return false
  const { code, message } = value as Record<string, unknown>
  return typeof message === 'string' && (ERROR_CODES as readonly unknown[]).includes(code)
}

/**
 * Electron's contextBridge keeps only an Error's message, so the preload carries the code
 * inside it as "[CODE] message"; `toErrorPayload` reads it back.
 */
export function encodeErrorMessage(payload: ErrorPayload): string {
  return `[${payload.code}] ${payload.message}`
}

function decodeErrorMessage(message: string): ErrorPayload | undefined {
  const match = /^\[([A-Z_]+)\] ([\s\S]*)$/.exec(message)
  const payload = match && { code: match[1], message: match[2] }
  return isErrorPayload(payload) ? payload : undefined
}

/** Turns anything thrown into a payload that is safe to show: unknown errors keep no internals. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof AppError) return error.toJSON()
  const encoded = error instanceof Error ? decodeErrorMessage(error.message) : undefined
  if (encoded) return encoded
  if (isAbortError(error)) return new CancelledError().toJSON()
  if (isErrorPayload(error)) return { code: error.code, message: error.message }
  return { code: 'INTERNAL', message: 'Something went wrong inside MeshCache. Please try again.' }
}
