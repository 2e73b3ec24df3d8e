import { describe, expect, it } from 'vitest'
import { type BufferedReader, UploadBuffer } from '../../src/server/upload-buffer'

function reader(): BufferedReader & { resumed: number } {
  const made = {
    paused: false,
    resumed: 0,
    resume: () => {
      made.resumed++
    },
  }
  return made
}

/** Takes bytes as readWhole does: a reader told to wait is paused until the buffer resumes it. */
function take(buffer: UploadBuffer, who: BufferedReader, n: number): boolean {
  const goOn = buffer.take(who, n)
  if (!goOn) who.paused = true
  return goOn
}

describe('UploadBuffer', () => {
  it('holds back uploads past the budget, but never the oldest one reading', () => {
    const buffer = new UploadBuffer(100)
    const [oldest, second, third] = [reader(), reader(), reader()]
    for (const each of [oldest, second, third]) buffer.join(each)
    expect(take(buffer, second, 60)).toBe(true)
    expect(take(buffer, third, 50)).toBe(false)
    // Past the budget, the oldest reads on (a body larger than the whole budget still arrives).
    expect(take(buffer, oldest, 500)).toBe(true)
    expect(take(buffer, second, 10)).toBe(false)
    expect(buffer.bytes).toBe(620)
    // The oldest's body is whole: the next oldest reads on; the third still waits.
    buffer.leave(oldest)
    expect(second).toMatchObject({ paused: false, resumed: 1 })
    expect(third).toMatchObject({ paused: true, resumed: 0 })
    // The oldest's bytes given back (parsed): 120 still held, over the budget, so the third waits.
    buffer.give(500)
    expect(third).toMatchObject({ paused: true, resumed: 0 })
    // The second is parsed too: room again, and the third reads on.
    buffer.leave(second)
    buffer.give(70)
    expect(third).toMatchObject({ paused: false, resumed: 1 })
    expect(buffer.bytes).toBe(50)
  })

  it('gives the place of oldest to the next one when the oldest fails', () => {
    const buffer = new UploadBuffer(10)
    const [stalled, next] = [reader(), reader()]
    buffer.join(stalled)
    buffer.join(next)
    expect(take(buffer, stalled, 8)).toBe(true)
    expect(take(buffer, next, 8)).toBe(false)
    // A stall: the stalled upload's bytes come back with its 408.
    buffer.leave(stalled)
    buffer.give(8)
    expect(next).toMatchObject({ paused: false, resumed: 1 })
    expect(buffer.bytes).toBe(8)
  })
})
