/**
 * A wall clock read at most once per synchronous job. Reading `Date.now()` on every cache
 * hit costs as much as the hit itself; within one job no caller can observe time passing
 * between two accesses anyway, so they share one reading, taken again after the next
 * microtask checkpoint.
 */
export function turnClock(read: () => number = Date.now): () => number {
  let stamp = 0
  let fresh = false
  const expire = (): void => {
    fresh = false
  }
  return () => {
    if (!fresh) {
      stamp = read()
      fresh = true
      queueMicrotask(expire)
    }
    return stamp
  }
}
