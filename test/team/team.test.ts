import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHunyuan, startFakeHunyuan } from '../support/fake-hunyuan'
import { fixture } from '../support/fixtures'
import { glbFor } from '../support/gated-generator'
import { type HostProcess, startHostProcess } from '../support/host-process'
import { type RedisServer, startRedis } from '../support/redis-server'
import { until } from '../support/until'

/**
 * Team mode against a real redis-server (Debian's package, started here on a free port),
 * with two built hosts in processes of their own and two fake GPU servers that count the
 * generations they run. Jobs are held at the fake servers until the test lets them go, so
 * nothing races a clock.
 */

let redis: RedisServer
let gpus: FakeHunyuan[] = []
const hosts: HostProcess[] = []
let prefix = ''

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.crash()))
  await Promise.all(gpus.map((gpu) => gpu.close()))
  gpus = []
})

async function startGpus(model?: Uint8Array): Promise<void> {
  gpus = await Promise.all([1, 2].map(() => startFakeHunyuan({ served: model, held: true })))
}

let run = 0
async function host(env: Record<string, string> = {}): Promise<HostProcess> {
  const started = await startHostProcess({
    MESHCACHE_REDIS_URL: redis.url,
    MESHCACHE_REDIS_PREFIX: prefix,
    MESHCACHE_DATA_DIR: mkdtempSync(join(tmpdir(), 'meshcache-team-')),
    MESHCACHE_HUNYUAN_URL: gpus.map((gpu) => gpu.url).join(','),
    // Long enough that a busy machine never misses a renewal (a missed one hands the job to
    // another host, which would generate it twice); the take-over test shortens it.
    MESHCACHE_TEAM_LOCK_MS: '30000',
    ...env,
  })
  hosts.push(started)
  // A request before the host has joined the team is made on its own (by design, so a host
  // works while Redis is down): under load that join can take longer than the start waits.
  await until(async () => (await stats(started)).shared.connected, 'the host joined the team')
  return started
}

const image = Buffer.from(fixture('triposr-robot')).toString('base64')

function generate(host: HostProcess, seed: number): Promise<Response> {
  return fetch(`${host.url}/api/generate-3d-cached`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image, quality: 'draft', seed }),
  })
}

async function result(response: Promise<Response>) {
  const answer = await response
  const body = (await answer.json()) as { key: string; cache: string; tier: string; bytes: number }
  expect(answer.status, JSON.stringify(body)).toBe(200)
  return body
}

async function stats(target: HostProcess) {
  return (await (await fetch(`${target.url}/api/cache/stats`)).json()) as {
    coalesced: number
    shared: { connected: boolean; currentItems: number; dropped: number; hits: number; lastError: string | null }
  }
}

const allStats = () => Promise.all(gpus.map((gpu) => gpu.stats()))
const received = async (): Promise<number> => (await allStats()).reduce((sum, s) => sum + s.received.length, 0)
const completed = async (): Promise<number> => (await allStats()).reduce((sum, s) => sum + s.completed, 0)

describe('team mode on Redis', () => {
  it('makes one upstream generation for ten concurrent identical requests over two hosts', async () => {
    prefix = `team-${++run}`
    await startGpus()
    const a = await host()
    const b = await host()
    const answers = Array.from({ length: 10 }, (_, i) => result(generate(i % 2 === 0 ? a : b, 1)))
    await until(async () => (await received()) === 1, 'the job reached a GPU server')
    // Every request is waiting: four joined locally on each host, and both hosts wait on the one job.
    await until(async () => (await stats(a)).coalesced === 4 && (await stats(b)).coalesced === 4, 'all ten wait')
    await Promise.all(gpus.map((gpu) => gpu.release()))
    const results = await Promise.all(answers)
    expect(new Set(results.map((r) => r.key)).size).toBe(1)
    expect(await received()).toBe(1)
    expect(await completed()).toBe(1)
  })

  it('spreads distinct requests over both GPU servers', async () => {
    prefix = `team-${++run}`
    await startGpus()
    const a = await host()
    const b = await host()
    const answers = Array.from({ length: 8 }, (_, i) => result(generate(i % 2 === 0 ? a : b, 100 + i)))
    // Each server takes one job at a time: both are busy at once.
    await until(async () => (await allStats()).every((s) => s.received.length === 1), 'both servers are busy')
    await Promise.all(gpus.map((gpu) => gpu.release()))
    expect(new Set((await Promise.all(answers)).map((r) => r.key)).size).toBe(8)
    expect(await completed()).toBe(8)
    for (const s of await allStats()) expect(s.completed).toBeGreaterThan(0)
  })

  it('sends each job only to a GPU server of the model it was keyed for, from every host', async () => {
    prefix = `team-${++run}`
    gpus = await Promise.all([
      startFakeHunyuan({ held: true }),
      startFakeHunyuan({ held: true, weights: { modelPath: 'tencent/Hunyuan3D-2', subfolder: 'hunyuan3d-dit-v2-0' } }),
    ])
    const [mini, full] = gpus as [FakeHunyuan, FakeHunyuan]
    const env = { MESHCACHE_HUNYUAN_URL: `${mini.url},${full.url}#Hunyuan3D-2` }
    const a = await host(env)
    const b = await host(env)
    const ask = (target: HostProcess, seed: number, model: string) =>
      fetch(`${target.url}/api/generate-3d-cached`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image, quality: 'draft', seed, model }),
      })
    const models = ['Hunyuan3D-2', 'Hunyuan3D-2mini-Turbo']
    const answers = Array.from({ length: 8 }, (_, i) =>
      result(ask(i % 2 === 0 ? a : b, 200 + i, models[i % 4 < 2 ? 0 : 1] as string)),
    )
    await until(async () => (await allStats()).every((s) => s.received.length === 1), 'both servers are busy')
    await Promise.all(gpus.map((gpu) => gpu.release()))
    const results = await Promise.all(answers)
    expect(new Set(results.map((r) => r.key)).size).toBe(8)
    const [miniStats, fullStats] = await allStats()
    expect([miniStats?.completed, fullStats?.completed]).toEqual([4, 4])
    // Each job carried its own seed to the server of its model.
    const seeds = (stats: typeof miniStats) => (stats?.received ?? []).map((body) => body.seed).sort()
    expect(seeds(fullStats)).toEqual([200, 201, 204, 205])
    expect(seeds(miniStats)).toEqual([202, 203, 206, 207])
  })

  it('lets another host take over the job of a host killed mid-generation; its waiter gets the model', async () => {
    prefix = `team-${++run}`
    await startGpus()
    const shortLocks = { MESHCACHE_TEAM_LOCK_MS: '1500' }
    const runner = await host(shortLocks) // starts first: it runs both GPU servers' workers
    const waiter = await host(shortLocks)
    const answer = result(generate(waiter, 7))
    await until(async () => (await received()) === 1, 'the runner sent the job to a GPU server')
    await runner.crash()
    // Upstream finishes the dead host's job for nobody (its one loop is held until then); the
    // runner's locks expire, and the waiter's host takes the servers and runs the job again.
    await Promise.all(gpus.map((gpu) => gpu.release()))
    await until(async () => (await received()) === 2, 'the job was taken over')
    expect((await answer).cache).toBe('miss')
  })

  it("lists this host's team jobs with their places in the team's line", async () => {
    prefix = `team-${++run}`
    await startGpus()
    const [gpu] = gpus as [FakeHunyuan]
    // One GPU server for both hosts, so one job runs and the others wait in the team's line.
    const oneGpu = { MESHCACHE_HUNYUAN_URL: gpu.url }
    const a = await host(oneGpu)
    const b = await host(oneGpu)
    const submit = async (target: HostProcess, seed: number): Promise<string> => {
      const answer = await fetch(`${target.url}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requests: [{ image, quality: 'draft', seed, pictureName: `seed-${seed}.png` }] }),
      })
      expect(answer.status).toBe(202)
      return ((await answer.json()) as { jobs: { id: string }[] }).jobs[0]?.id as string
    }
    const jobOf = async (target: HostProcess, id: string) =>
      (
        (await (await fetch(`${target.url}/api/jobs`)).json()) as {
          jobs: { id: string; state: string; stage?: string; position?: number }[]
        }
      ).jobs.find((job) => job.id === id)
    await submit(a, 300)
    await until(async () => (await gpu.stats()).received.length === 1, 'the first job at the GPU server')
    const second = await submit(a, 301)
    await until(async () => (await jobOf(a, second))?.position === 1, "a's second job one behind the running one")
    const third = await submit(b, 302)
    await until(async () => (await jobOf(b, third))?.position === 2, "b's job two behind")
    expect(await jobOf(a, second)).toMatchObject({ state: 'running', stage: 'queued', position: 1 })
    await gpu.release()
    for (const [target, id] of [
      [a, second],
      [b, third],
    ] as const) {
      await until(async () => (await jobOf(target, id))?.state === 'done', 'every job done')
      expect((await jobOf(target, id))?.position).toBeUndefined()
    }
  })

  it('runs jobs on a GPU server added in the app, on one saved from before a restart, and none on one removed', async () => {
    prefix = `team-${++run}`
    await startGpus()
    const [gpu] = gpus as [FakeHunyuan]
    await gpu.release()
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-team-'))
    // Renewals an hour apart: only the claims made when the pool changes (and the lock given up
    // at a clean stop) can have the server run these jobs.
    const alone = { MESHCACHE_HUNYUAN_URL: '', MESHCACHE_DATA_DIR: dataDir, MESHCACHE_TEAM_LOCK_MS: '3600000' }
    const artist = await host(alone)
    const added = await fetch(`${artist.url}/api/backends`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: gpu.url }),
    })
    expect(added.status, await added.text()).toBe(200)
    expect((await result(generate(artist, 1))).key).toMatch(/^[0-9a-f]{64}$/)
    expect((await gpu.stats()).completed).toBe(1)
    // Kept across a restart: the saved server serves the team's queue again.
    await artist.stop()
    const restarted = await host(alone)
    await result(generate(restarted, 2))
    expect((await gpu.stats()).completed).toBe(2)
    const [server] = (
      (await (await fetch(`${restarted.url}/api/backends`)).json()) as { servers?: { id: string }[] }[]
    ).flatMap((b) => b.servers ?? [])
    expect(server).toBeDefined()
    const removed = await fetch(`${restarted.url}/api/backends/${server?.id}`, { method: 'DELETE' })
    expect(removed.status, await removed.text()).toBe(200)
    // Removed: the builtin generator makes the next model; the server is asked nothing more.
    expect((await result(generate(restarted, 3))).key).toMatch(/^[0-9a-f]{64}$/)
    expect((await gpu.stats()).received).toHaveLength(2)
  })

  it('gives a host with an empty data folder a hit from the shared tier', async () => {
    prefix = `team-${++run}`
    await startGpus()
    await Promise.all(gpus.map((gpu) => gpu.release()))
    const first = await host()
    const made = await result(generate(first, 3))
    await first.stop()
    const fresh = await host()
    expect(await result(generate(fresh, 3))).toMatchObject({ key: made.key, cache: 'hit', tier: 'shared' })
    expect(await received()).toBe(1)
  })

  it('never serves a corrupted shared blob', async () => {
    prefix = `team-${++run}`
    await startGpus()
    await Promise.all(gpus.map((gpu) => gpu.release()))
    const first = await host()
    const made = await result(generate(first, 4))
    const client = redis.client()
    const [blob] = await client.keys(`${prefix}:blob:*`)
    await client.set(blob as string, Buffer.from('not the model it claims to be'))
    const fresh = await host()
    expect(await result(generate(fresh, 4))).toMatchObject({ key: made.key, cache: 'miss', tier: 'generator' })
    expect((await stats(fresh)).shared.dropped).toBe(1)
    expect(await received()).toBe(2)
  })

  it('evicts the least recently used models past its byte budget', async () => {
    prefix = `team-${++run}`
    const model = await glbFor(1, 40_000)
    await startGpus(model)
    await Promise.all(gpus.map((gpu) => gpu.release()))
    const only = await host({ MESHCACHE_SHARED_MAX_BYTES: String(Math.round(model.byteLength * 2.5)) })
    const keys = [
      (await result(generate(only, 11))).key,
      (await result(generate(only, 12))).key,
      (await result(generate(only, 13))).key,
    ]
    const held = await redis.client().zrange(`${prefix}:order`, 0, -1)
    expect(held.sort()).toEqual([keys[1], keys[2]].sort())
  })

  it("never evicts a model a user keeps from the team's tier: another host with an empty folder gets it as a hit", async () => {
    prefix = `team-${++run}`
    const model = await glbFor(1, 40_000)
    await startGpus(model)
    await Promise.all(gpus.map((gpu) => gpu.release()))
    const budget = { MESHCACHE_SHARED_MAX_BYTES: String(Math.round(model.byteLength * 2.5)) }
    const first = await host(budget)
    const liked = (await result(generate(first, 21))).key
    const kept = await fetch(`${first.url}/api/cache/entries/${liked}/keep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keep: true }),
    })
    expect(kept.status).toBe(200)
    for (const seed of [22, 23, 24]) await result(generate(first, seed))
    expect(await redis.client().zrange(`${prefix}:kept`, 0, -1)).toEqual([liked])
    expect(await redis.client().exists(`${prefix}:rec:${liked}`)).toBe(1)
    await first.stop()
    const fresh = await host(budget)
    expect(await result(generate(fresh, 21))).toMatchObject({ key: liked, cache: 'hit', tier: 'shared' })
    expect(await received()).toBe(4)
  })

  it('keeps working on its own tiers while Redis is down, says so, and reconnects by itself', async () => {
    prefix = `team-${++run}`
    await startGpus()
    await Promise.all(gpus.map((gpu) => gpu.release()))
    const only = await host()
    await result(generate(only, 21))
    await redis.crash()
    await until(async () => (await stats(only)).shared.connected === false, 'the host noticed')
    expect((await stats(only)).shared.lastError).toMatch(/Redis cannot be reached/)
    expect(await result(generate(only, 22))).toMatchObject({ cache: 'miss' })
    await redis.restart()
    await until(async () => (await stats(only)).shared.connected, 'the host reconnected')
    await result(generate(only, 23))
    await until(async () => (await stats(only)).shared.currentItems >= 1, 'the shared tier is written again')
  })
})
