/** Thrown for invalid arguments to the cache; nothing has been changed when it is thrown. */
export class CacheArgumentError extends TypeError {
  override readonly name = 'CacheArgumentError'
}

/** The reason a caller's promise rejects with when its own signal aborts. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError')
}
