/** A promise plus the functions that settle it, for driving async code step by step in tests. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A manually advanced clock. */
export function manualClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let time = start
  return { now: () => time, advance: (ms) => (time += ms) }
}

export function bytes(n: number, fill = 1): Uint8Array {
  return new Uint8Array(n).fill(fill)
}
