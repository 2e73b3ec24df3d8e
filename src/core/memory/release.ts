import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Collect = (options: { type: 'minor' }) => void

/** V8's own collector, reached once (null where it cannot be). */
let collect: Collect | null | undefined

function collector(): Collect | null {
  if (collect !== undefined) return collect
  try {
    // Node's documented way to reach gc() without a command-line flag (see v8.setFlagsFromString):
    // a context made while --expose-gc is set has it; the flag is cleared again at once.
    setFlagsFromString('--expose-gc')
    const found: unknown = runInNewContext('gc')
    setFlagsFromString('--no-expose-gc')
    collect = typeof found === 'function' ? (found as Collect) : null
  } catch {
    collect = null
  }
  return collect
}

/**
 * Frees the young generation's garbage now: a scavenge, under a millisecond. Uploads and
 * pictures leave their bytes outside V8's heap, held by small objects that die young, and V8
 * only scavenges once its own small heap fills, so a burst of uploads left 100 MB and more of
 * dead socket reads and emptied pictures resident (measured with 16 jobs of 4096² pictures
 * sent at once, `npm run bench -- memory`). Called after such bytes are let go, never on a
 * timer.
 */
export function collectYoungGarbage(): void {
  collector()?.({ type: 'minor' })
}

/**
 * Empties bytes that only the caller holds and no longer needs (a file it read and still
 * keeps on disk, an upload's chunks once parsed): each ArrayBuffer is detached, as a transfer
 * does, so the memory goes now rather than at a later full collection, which may be hundreds
 * of megabytes of pictures later. A view into a larger buffer is left as it is. True when
 * every one was emptied.
 */
export function release(...all: Uint8Array[]): boolean {
  let every = true
  for (const bytes of all) {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    if (!whole || !(bytes.buffer instanceof ArrayBuffer)) {
      every = false
      continue
    }
    try {
      // The memory goes with the clone, which nothing keeps (a young object: see below).
      structuredClone(bytes.buffer, { transfer: [bytes.buffer] })
    } catch {
      every = false
    }
  }
  collectYoungGarbage()
  return every
}
