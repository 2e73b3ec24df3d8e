import { describe, expect, it } from 'vitest'
import { JobQueue } from '../../../src/core/generation/job-queue'
import { deferred } from '../../helpers'

describe('JobQueue', () => {
  it('runs one job at a time in arrival order', async () => {
    const queue = new JobQueue()
    const log: string[] = []
    const gates = [deferred<void>(), deferred<void>(), deferred<void>()]
    const runs = gates.map((gate, i) =>
      queue.run(async () => {
        log.push(`start ${i}`)
        await gate.promise
        log.push(`end ${i}`)
        return i
      }),
    )
    await Promise.resolve()
    expect(queue.length).toBe(3)
    gates[2]?.resolve()
    gates[1]?.resolve()
    gates[0]?.resolve()
    expect(await Promise.all(runs)).toEqual([0, 1, 2])
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2'])
    expect(queue.length).toBe(0)
  })

  it('reports positions and drops a job cancelled while waiting', async () => {
    const queue = new JobQueue()
    const gate = deferred<void>()
    const positions: number[] = []
    const first = queue.run(() => gate.promise)
    const controller = new AbortController()
    const second = queue.run(async () => 'never runs', {
      signal: controller.signal,
      onPosition: (p) => positions.push(p),
    })
    let thirdRan = false
    const third = queue.run(async () => {
      thirdRan = true
    })
    controller.abort()
    await expect(second).rejects.toMatchObject({ code: 'CANCELLED' })
    gate.resolve()
    await first
    await third
    expect(thirdRan).toBe(true)
    expect(positions[0]).toBe(1)
    await expect(queue.run(async () => 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' })
  })

  it('keeps going after a job fails', async () => {
    const queue = new JobQueue()
    const failing = queue.run(async () => {
      throw new Error('boom')
    })
    const next = queue.run(async () => 'ok')
    await expect(failing).rejects.toThrow('boom')
    await expect(next).resolves.toBe('ok')
  })
})
