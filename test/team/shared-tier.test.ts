import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { GenerateProgress } from '../../src/core/generation/generator'
import { createAppService } from '../../src/core/service/create-service'
import { redisConnector } from '../../src/core/team/connect'
import { SharedTier } from '../../src/core/team/shared-tier'
import { type ServerWorkerSpec, TeamScheduler } from '../../src/core/team/team-scheduler'
import { TeamUnavailable } from '../../src/core/team/team-unavailable'
import { appAddresses } from '../../src/shared/addresses'
import { BUILTIN_WORKER, fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { type RedisServer, startRedis } from '../support/redis-server'
import { until } from '../support/until'

/** The team's pieces in this process, against a real redis-server. */

let redis: RedisServer
let prefix = ''
let run = 0
const opened: { close(): Promise<void> | void }[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((item) => item.close()))
})

const problems: string[] = []
const connect = (): ((options?: { failFast?: boolean }) => Redis) => redisConnector(redis.url, (m) => problems.push(m))

async function ready(client: Redis): Promise<Redis> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
  return client
}

async function tier(maxBytes = 10_000): Promise<SharedTier> {
  prefix = `shared-${++run}`
  const client = await ready(connect()({ failFast: true }))
  opened.push({ close: () => client.disconnect() })
  // A clock that moves on at every reading: no two uses share a time, whatever the machine's speed.
  let time = 0
  return new SharedTier({ redis: client, prefix, maxBytes, now: () => ++time, log: () => undefined })
}

const key = (n: number): string => n.toString(16).padStart(64, '0')
const glb = (n: number, size = 1000): Uint8Array => new Uint8Array(size).fill(n)
const info = (generationMs = 1000) => ({ generationMs, meta: { prompt: 'p' } })

describe('SharedTier', () => {
  it('keeps models by content, reads them back verified, and lists them most recent first', async () => {
    const shared = await tier()
    expect(await shared.write(key(1), glb(7), info())).toBe(true)
    expect(await shared.write(key(2), glb(7), info())).toBe(true)
    const read = await shared.read(key(1))
    expect(read && Buffer.from(read.bytes).equals(Buffer.from(glb(7)))).toBe(true)
    expect(read?.record).toMatchObject({ key: key(1), generationMs: 1000, meta: { prompt: 'p' } })
    expect(await redis.client().keys(`${prefix}:blob:*`)).toHaveLength(1)
    expect((await shared.entries()).map((r) => r.key)).toEqual([key(1), key(2)])
    await shared.refresh()
    expect(shared.stats()).toMatchObject({ connected: true, hits: 1, writes: 2, currentItems: 2, currentBytes: 2000 })
    expect(await shared.read(key(9))).toBeUndefined()
    expect(shared.stats().misses).toBe(1)
  })

  it('lists every model it holds, past a thousand (the library shows every model in every tier)', async () => {
    const shared = await tier(2_000_000)
    for (let n = 1; n <= 1005; n++) await shared.write(key(n), glb(1, 100), info())
    expect(await shared.entries()).toHaveLength(1005)
  })

  it('drops a corrupted blob instead of serving it', async () => {
    const shared = await tier()
    await shared.write(key(1), glb(1), info())
    const [blob] = await redis.client().keys(`${prefix}:blob:*`)
    await redis.client().set(blob as string, 'garbage')
    expect(await shared.read(key(1))).toBeUndefined()
    expect(shared.stats()).toMatchObject({ dropped: 1, readFailures: 1 })
    expect(await redis.client().exists(`${prefix}:rec:${key(1)}`)).toBe(0)
  })

  it('evicts the least recently used first within its budget', async () => {
    const shared = await tier(2500)
    await shared.write(key(1), glb(1), info())
    await shared.write(key(2), glb(2), info())
    // Commands on one connection run in order: the use is recorded before the next write.
    shared.touch(key(1))
    await shared.write(key(3), glb(3), info())
    expect((await redis.client().zrange(`${prefix}:order`, 0, -1)).sort()).toEqual([key(1), key(3)].sort())
    expect(shared.stats()).toMatchObject({ evictions: 1, evictedBytes: 1000 })
    expect(await shared.write(key(4), glb(4, 3000), info())).toBe(false)
  })

  it("ranks by cost per byte under the team's GDSF policy: the cheap model leaves first", async () => {
    const shared = await tier(2500)
    shared.setPolicy('gdsf')
    await shared.write(key(1), glb(1), info(60_000))
    await shared.write(key(2), glb(2), info(10))
    await shared.write(key(3), glb(3), info(60_000))
    expect((await redis.client().zrange(`${prefix}:order`, 0, -1)).sort()).toEqual([key(1), key(3)].sort())
  })

  it('never evicts a kept model under either policy; a clear spares it unless asked, and a rewrite keeps it kept', async () => {
    for (const policy of ['lru', 'gdsf'] as const) {
      const shared = await tier(2500)
      shared.setPolicy(policy)
      // The cheapest and oldest: the first victim of both policies, were it not kept.
      await shared.write(key(1), glb(1), info(1))
      expect(await shared.setKept(key(1), true)).toBe(true)
      for (const n of [2, 3, 4, 5]) await shared.write(key(n), glb(n), info(60_000))
      expect(await redis.client().exists(`${prefix}:rec:${key(1)}`)).toBe(1)
      expect(await redis.client().zcard(`${prefix}:order`)).toBe(1)
      await shared.refresh()
      expect(shared.stats()).toMatchObject({ currentItems: 2, currentBytes: 2000, keptItems: 1, keptBytes: 1000 })
      expect((await shared.entries()).find((r) => r.key === key(1))).toMatchObject({ kept: true })
      // Written again (another instance generated it too): still kept.
      await shared.write(key(1), glb(9), info(1))
      expect(shared.isKept(key(1))).toBe(true)
      expect(await shared.clear()).toBe(1)
      expect((await shared.entries()).map((r) => r.key)).toEqual([key(1)])
      expect(await shared.setKept(key(1), false)).toBe(true)
      expect(await shared.clear({ kept: false })).toBe(1)
      expect(await redis.client().keys(`${prefix}:*`)).toEqual([`${prefix}:policy`])
    }
    const shared = await tier()
    expect(await shared.setKept(key(7), true)).toBe(false)
  })

  it('deletes one model and clears them all, blobs included', async () => {
    const shared = await tier()
    await shared.write(key(1), glb(1), info())
    await shared.write(key(2), glb(2), info())
    expect(await shared.delete(key(1))).toBe(true)
    expect(await shared.delete(key(1))).toBe(false)
    expect(await shared.clear()).toBe(1)
    expect(await redis.client().keys(`${prefix}:*`)).toEqual([])
  })
})

describe('TeamScheduler', () => {
  function scheduler(generator: GatedGenerator): TeamScheduler {
    const made = new TeamScheduler({
      connect: () => connect()(),
      prefix,
      lockMs: 1500,
      workers: [{ generator, concurrency: 1 }],
      log: () => undefined,
    })
    opened.push(made)
    return made
  }

  const input = { image: fixture('triposr-chair'), prompt: '', quality: 'draft' as const, seed: 1 }

  async function readyScheduler(generator: GatedGenerator): Promise<TeamScheduler> {
    const made = scheduler(generator)
    await made.start()
    for (let i = 0; i < 500 && !made.ready; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    return made
  }

  it('runs one job for a key asked of two instances, with progress to both', async () => {
    prefix = `sched-${++run}`
    // One gate for both instances' workers: either may take the job from the team's line, and
    // the job must be held and counted whichever does (with two gates, the second instance's
    // worker taking it left the first gate waiting forever: seen as a timeout in CI).
    const generator = new GatedGenerator('builtin')
    const first = await readyScheduler(generator)
    const second = await readyScheduler(generator)
    generator.hold()
    const progress: GenerateProgress[] = []
    const signal = new AbortController().signal
    const a = first.run(generator, key(1), input, { signal, onProgress: (p) => progress.push(p) })
    const b = second.run(generator, key(1), input, { signal })
    await generator.jobsStarted(1)
    generator.release()
    const [x, y] = await Promise.all([a, b])
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(true)
    expect(generator.runs).toBe(1)
    expect(progress.some((p) => p.stage === 'generating')).toBe(true)
  })

  it('stops the job when its last waiter leaves, not before', async () => {
    prefix = `sched-${++run}`
    const generator = new GatedGenerator('builtin')
    const only = await readyScheduler(generator)
    generator.hold()
    const leaving = new AbortController()
    const staying = new AbortController()
    const a = only.run(generator, key(2), input, { signal: leaving.signal }).catch((e: Error) => e.name)
    const b = only.run(generator, key(2), input, { signal: staying.signal }).catch((e: Error) => e.name)
    await generator.jobsStarted(1)
    leaving.abort()
    expect(await a).toBe('AppError')
    expect(generator.running).toBe(1)
    staying.abort()
    expect(await b).toBe('AppError')
    for (let i = 0; i < 500 && generator.running > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(generator.running).toBe(0)
  })

  it('passes a failure on to the waiter', async () => {
    prefix = `sched-${++run}`
    const generator = new GatedGenerator('builtin')
    generator.failure = new Error('GPU on fire')
    const only = await readyScheduler(generator)
    await expect(only.run(generator, key(3), input, { signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'BACKEND_FAILED',
      message: expect.stringContaining('GPU on fire'),
    })
  })

  it("starts a GPU server's worker once Redis is reachable (start waits for it), not a lock period later", async () => {
    prefix = `sched-${++run}`
    const gpu = new GatedGenerator('hunyuan')
    // Renewals an hour apart: only the claim made when Redis became reachable can run the job.
    const made = new TeamScheduler({
      connect: () => connect()(),
      prefix,
      lockMs: 3_600_000,
      workers: [],
      servers: () => [{ generator: gpu, concurrency: 1, server: 'http://gpu-1.test' }],
      log: () => undefined,
    })
    opened.push(made)
    // Start waits for the first connection: a request right after it is the team's, never a local extra.
    await made.start()
    expect(made.ready).toBe(true)
    await made.run(gpu, key(5), input, { signal: new AbortController().signal })
    expect(gpu.runs).toBe(1)
  })

  it('serves a GPU server while it is in the list: one removed is given up to another instance', async () => {
    prefix = `sched-${++run}`
    const server = 'http://gpu-2.test'
    // Two clients of the one server, one per instance, so each instance's runs are counted apart.
    const viaA = new GatedGenerator('hunyuan')
    const viaB = new GatedGenerator('hunyuan')
    let aServes = true
    // Renewals an hour apart: only a lock given up lets the other instance take the server.
    const instance = (servers: () => ServerWorkerSpec[]): TeamScheduler => {
      const made = new TeamScheduler({
        connect: () => connect()(),
        prefix,
        lockMs: 3_600_000,
        workers: [],
        servers,
        log: () => undefined,
      })
      opened.push(made)
      return made
    }
    const a = instance(() => (aServes ? [{ generator: viaA, concurrency: 1, server }] : []))
    await a.start()
    const b = instance(() => [{ generator: viaB, concurrency: 1, server }])
    await b.start()
    const signal = new AbortController().signal
    await b.run(viaB, key(6), input, { signal })
    expect([viaA.runs, viaB.runs]).toEqual([1, 0])
    aServes = false
    await a.refresh()
    await b.refresh()
    await a.run(viaA, key(7), input, { signal })
    expect([viaA.runs, viaB.runs]).toEqual([1, 1])
  })

  it('says it is unavailable when Redis cannot be reached', async () => {
    prefix = `sched-${++run}`
    const offline = new TeamScheduler({
      connect: () => redisConnector('redis://127.0.0.1:1', () => undefined)(),
      prefix,
      workers: [],
      log: () => undefined,
    })
    opened.push(offline)
    await expect(
      offline.run(new GatedGenerator(), key(4), input, { signal: new AbortController().signal }),
    ).rejects.toBeInstanceOf(TeamUnavailable)
  })
})

describe('a team-mode service', () => {
  it('lets go of every Redis connection when it closes (a host or a benchmark can then exit)', async () => {
    const admin = await ready(connect()())
    opened.push({ close: () => admin.disconnect() })
    const clients = async (): Promise<number> =>
      String(await admin.client('LIST'))
        .trim()
        .split('\n').length
    const before = await clients()
    const service = await createAppService({
      config: { hunyuanServers: [], dataDir: undefined, redisUrl: redis.url, redisPrefix: `close-${++run}` },
      workerPath: BUILTIN_WORKER,
      addresses: appAddresses,
    })
    await until(async () => (await clients()) > before, 'the service connected')
    await service.close()
    await until(async () => (await clients()) === before, 'every connection of the service was let go')
  })
})
