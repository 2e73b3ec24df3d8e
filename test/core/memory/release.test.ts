import { describe, expect, it } from 'vitest'
import { collectYoungGarbage, release } from '../../../src/core/memory/release'
import { fixture } from '../../support/fixtures'

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

  it('releases whole buffers, and leaves views into a larger one as they are', () => {
    const own = fixture('triposr-robot')
    const view = fixture('triposr-robot').subarray(1)
    expect([release(view), view.byteLength > 0]).toEqual([false, true])
    expect([release(own), own.byteLength]).toEqual([true, 0])
  })
})
