import { describe, expect, it } from 'vitest'
import { turnClock } from '../../../src/core/cache/turn-clock'

describe('turnClock', () => {
  it('reads the clock once per synchronous job and again after a microtask checkpoint', async () => {
    let reads = 0
    let time = 100
    const now = turnClock(() => {
      reads++
      return time
    })
    expect(now()).toBe(100)
    time = 200
    expect(now()).toBe(100)
    expect(reads).toBe(1)
    await Promise.resolve()
    expect(now()).toBe(200)
    expect(reads).toBe(2)
  })

  it('defaults to the wall clock', () => {
    const before = Date.now()
    const value = turnClock()()
    expect(value).toBeGreaterThanOrEqual(before)
    expect(value).toBeLessThanOrEqual(Date.now())
  })
})
