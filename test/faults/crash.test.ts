import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { rng } from '../../bench/lib'
import { numberedPicture } from '../support/fixtures'
import { type HostProcess, startHostProcess } from '../support/host-process'

/**
 * kill -9 at random points of a burst of generations, many times over one data folder: every
 * model the host answered with 200 must be there after the restart, whole.
 */
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 8)
const BURST = 12
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000)

const hosts: HostProcess[] = []
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.crash()))
})

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

describe(`kill -9 during a burst of generations (${ROUNDS} rounds, seed ${SEED})`, () => {
  it('loses no model that was answered', async () => {
    const random = rng(SEED)
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-crash-'))
    const answered = new Map<string, number>()
    let seed = 0
    for (let round = 0; round < ROUNDS; round++) {
      const host = await startHostProcess({ MESHCACHE_DATA_DIR: dataDir })
      hosts.push(host)
      // Kill after a random number of answers, plus a random moment within the next one.
      const killAfter = Math.floor(random() * BURST)
      const extraMs = Math.floor(random() * 40)
      let answers = 0
      let killing: Promise<void> | undefined
      const requests = Array.from({ length: BURST }, () => ++seed).map(async (requestSeed) => {
        try {
          const response = await post(`${host.url}/api/generate-3d-cached`, {
            image: Buffer.from(await numberedPicture(requestSeed)).toString('base64'),
            quality: 'draft',
            seed: requestSeed,
          })
          if (response.status !== 200) return
          const result = (await response.json()) as { key: string; bytes: number }
          answered.set(result.key, result.bytes)
          if (++answers === killAfter + 1) killing = new Promise((r) => setTimeout(r, extraMs)).then(() => host.crash())
        } catch {
          // the host died mid-request: this one was never answered
        }
      })
      await Promise.all(requests)
      await (killing ?? host.crash())

      const after = await startHostProcess({ MESHCACHE_DATA_DIR: dataDir })
      hosts.push(after)
      const lost: string[] = []
      for (const [key, bytes] of answered) {
        const response = await fetch(`${after.url}/models/${key}.glb`)
        const body = new Uint8Array(await response.arrayBuffer())
        const whole =
          response.status === 200 && body.byteLength === bytes && Buffer.from(body.subarray(0, 4)).toString() === 'glTF'
        if (!whole) lost.push(key.slice(0, 12))
      }
      expect(lost, `round ${round}: ${answered.size} answered so far`).toEqual([])
      await after.stop()
    }
    expect(answered.size).toBeGreaterThan(0)
  })
})
