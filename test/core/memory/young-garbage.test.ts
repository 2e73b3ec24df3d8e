import { describe, expect, it } from 'vitest'
import { collectYoungGarbage } from '../../../src/core/memory/young-garbage'

const arrayBufferBytes = (): number => process.memoryUsage().arrayBuffers

describe('collectYoungGarbage', () => {
  it('frees the bytes of buffers no longer referenced at once', async () => {
    const size = 32 * 1024 * 1024
    let bytes: Uint8Array | undefined = new Uint8Array(size)
    const held = arrayBufferBytes()
    expect(bytes.byteLength).toBe(size)
    bytes = undefined
    // No await since it was made: it is still young, and only a scavenge can have freed it.
    collectYoungGarbage()
    // Young buffers are swept as the scavenge ends (or at the next allocation after it).
    await new Promise((resolve) => setImmediate(resolve))
    expect(arrayBufferBytes()).toBeLessThan(held - size / 2)
  })
})
