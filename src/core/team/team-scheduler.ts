import { createHash, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { type Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import { AppError, CancelledError } from '../../shared/errors'
import type { GenerateProgress, Generator, GeneratorInput } from '../generation/generator'
import { assertGlb } from '../generation/glb-check'
import { TeamUnavailable } from './team-unavailable'

/** A generation request as it travels through Redis: pictures as base64. */
/** A job's input as it travels through Redis: the binary fields as base64. */
interface JobData extends Omit<GeneratorInput, 'image' | 'mesh'> {
  image: string
  mesh?: string
}

interface JobResult {
  sha256: string
  bytes: number
}

/** A generator this instance can run team jobs with. */
export interface WorkerSpec {
  generator: Generator
  concurrency: number
}

/** A GPU server's worker: one in the whole team, run by the instance holding its lock. */
export interface ServerWorkerSpec extends WorkerSpec {
  server: string
  /**
   * The route (identity and model) of the jobs it can run, once the server has answered: its
   * worker serves that route's queue only, so a job keyed for one model never reaches another's.
   */
  route?: () => string | undefined
}

export interface TeamSchedulerOptions {
  /** Connects a new Redis client (BullMQ needs several: queues, events, workers). */
  connect: () => Redis
  prefix: string
  /** The generators this instance always runs jobs for (its builtin one). */
  workers: WorkerSpec[]
  /**
   * The GPU servers this instance can serve, one client each: asked afresh on every claim
   * round and on refresh(), as servers are added and removed while the app runs.
   */
  servers?: () => readonly ServerWorkerSpec[]
  /** How long a job's lock lasts without renewal: a dead instance's job is taken over after it. */
  lockMs?: number
  log?: (message: string) => void
}

const RESULT_TTL_SECONDS = 600
/** How long a start waits for Redis before going on without the team (it joins once Redis answers). */
const FIRST_CONNECTION_MS = 5_000

/**
 * One generation per request across the team, on BullMQ: the job id is the cache key, so an
 * instance asking for a key that any instance is already generating joins that job. Each
 * backend has one queue; a GPU server is served by exactly one worker in the team (the
 * instance holding its lock), so jobs go to whichever server is free, and a host's builtin
 * generator takes builtin jobs. A waiter may leave; the job stops only when none is left.
 * If the instance running a job dies, its lock expires and another instance takes the job
 * over (BullMQ's stalled-job recovery).
 */
export class TeamScheduler {
  readonly instance = randomUUID()
  private readonly redis: Redis
  private readonly subscriber: Redis
  private readonly queues = new Map<string, { queue: Queue; events: QueueEvents }>()
  /** This instance's workers by id; `server` marks a GPU server's, run while this instance holds its lock. */
  private readonly running = new Map<string, { worker: Worker; server: boolean; connection: Redis; queue: string }>()
  /** Connections handed to BullMQ: it closes only those it made itself, so these are closed here. */
  private readonly connections = new Set<Redis>()
  /** The claim round under way, and whether another was asked for meanwhile. */
  private round: Promise<void> | undefined
  private roundAgain = false
  private readonly lockMs: number
  private readonly log: (message: string) => void
  private readonly timers: ReturnType<typeof setInterval>[] = []
  private closed = false

  constructor(private readonly options: TeamSchedulerOptions) {
    this.redis = options.connect()
    this.subscriber = options.connect()
    this.lockMs = options.lockMs ?? 15_000
    this.log = options.log ?? ((message) => console.warn(`MeshCache: ${message}`))
  }

  get ready(): boolean {
    return this.redis.status === 'ready'
  }

  private async firstConnection(): Promise<void> {
    if (this.ready) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      once(this.redis, 'ready').catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, FIRST_CONNECTION_MS)
      }),
    ])
    clearTimeout(timer)
  }

  /**
   * Starts this instance's workers, and listens for cancels of jobs it runs. Waits for the
   * first connection to Redis (at most FIRST_CONNECTION_MS): a request that came before it
   * would find the team unreachable and generate on its own, which makes the team's one
   * generation two. With Redis down, the app starts after that wait and works locally.
   */
  async start(): Promise<void> {
    await this.firstConnection()
    // Not awaited: with Redis down at start, the app starts anyway and subscribes once it is back.
    void this.subscriber.subscribe(this.key('cancel')).catch(() => undefined)
    this.subscriber.on('message', (_channel, jobId: string) => {
      for (const { worker } of this.running.values()) worker.cancelJob(jobId, 'nobody waits for it any more')
    })
    for (const spec of this.options.workers)
      this.startWorker(spec, spec.generator.id, false, queueName(spec.generator.id))
    // A GPU server gets one worker in the team: whoever holds its lock. Claimed now, as soon
    // as Redis is (again) reachable rather than a renewal period later, and at every renewal.
    const claim = (): void => void this.refresh()
    this.redis.on('ready', claim)
    this.timers.push(setInterval(claim, this.lockMs / 3))
    // Not awaited: a slow or dead server's probe does not hold up the start; jobs wait in the queue.
    claim()
  }

  /**
   * Claims (or renews) the lock of every GPU server there is now, and stops serving those
   * removed; resolves once that round is done. Asked during a round, it runs one more after it.
   */
  refresh(): Promise<void> {
    if (this.round) {
      this.roundAgain = true
      return this.round
    }
    this.round = (async () => {
      do {
        this.roundAgain = false
        await this.claimServers()
      } while (this.roundAgain && !this.closed)
    })().finally(() => {
      this.round = undefined
    })
    return this.round
  }

  private async claimServers(): Promise<void> {
    const servers = this.options.servers?.() ?? []
    const current = new Set(servers.map(serverWorkerId))
    for (const [id, { server }] of this.running) {
      if (!server || current.has(id)) continue
      await this.stopWorker(id)
      await this.release(id)
    }
    await Promise.all(servers.map((spec) => this.claim(spec).catch(() => undefined)))
  }

  /**
   * Runs a generation on the team's queue for `generator`, or joins the one under way for
   * `key`; resolves with the model's bytes. Throws TeamUnavailable when Redis is unreachable
   * (before or during the wait), so the caller can generate locally instead.
   */
  async run(
    generator: Generator,
    key: string,
    input: GeneratorInput,
    options: { signal: AbortSignal; onProgress?: (progress: GenerateProgress & { position?: number }) => void },
  ): Promise<Uint8Array> {
    if (!this.ready) throw new TeamUnavailable("the team's Redis cannot be reached")
    const { queue, events } = this.queueFor(queueName(generator.id, input.keyedFor))
    // A queued job's hooks stay here: the team's BullMQ jobs are durable on their own.
    const { image, mesh, remote: _remote, ...fields } = input
    const data: JobData = {
      ...fields,
      image: Buffer.from(image).toString('base64'),
      ...(mesh ? { mesh: Buffer.from(mesh).toString('base64') } : {}),
    }
    const waiters = this.key('waiters', key)
    await this.redis
      .multi()
      .incr(waiters)
      .pexpire(waiters, 24 * 3600_000)
      .exec()
    let left = false
    /** This instance stops waiting; a cancelling last waiter stops the job too. */
    const leave = async (cancelling: boolean): Promise<void> => {
      if (left) return
      left = true
      const remaining = await this.redis.decr(waiters).catch(() => 1)
      if (remaining > 0) return
      await this.redis.del(waiters).catch(() => undefined)
      if (!cancelling) return
      await this.redis.publish(this.key('cancel'), key).catch(() => undefined)
      await queue.remove(key).catch(() => undefined)
    }
    let underWay = false
    const onProgress = ({ jobId, data: progress }: { jobId: string; data: unknown }): void => {
      if (jobId !== key || !progress || typeof progress !== 'object') return
      underWay = true
      options.onProgress?.(progress as GenerateProgress)
    }
    const place = new LinePlace(queue, key, (jobsAhead) => {
      if (!underWay) options.onProgress?.({ stage: 'queued', fraction: 0, position: jobsAhead })
    })
    events.on('progress', onProgress)
    for (const change of LINE_CHANGES) events.on(change, place.refresh)
    try {
      const job = await this.addOrJoin(queue, key, data)
      place.refresh()
      const result = (await this.until(job.waitUntilFinished(events), options.signal)) as JobResult
      const bytes = await this.redis.getBuffer(this.key('result', key))
      if (!bytes || createHash('sha256').update(bytes).digest('hex') !== result.sha256) {
        throw new AppError('BACKEND_FAILED', "The team's generated model could not be read back whole.")
      }
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    } catch (error) {
      if (options.signal.aborted) {
        await leave(true)
        throw new CancelledError()
      }
      if (error instanceof TeamUnavailable) throw error
      throw error instanceof AppError ? error : new AppError('BACKEND_FAILED', jobFailure(error))
    } finally {
      events.off('progress', onProgress)
      for (const change of LINE_CHANGES) events.off(change, place.refresh)
      place.stop()
      if (!options.signal.aborted) await leave(false)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const timer of this.timers) clearInterval(timer)
    await Promise.all([...this.running.values()].map(({ worker }) => worker.close(true).catch(() => undefined)))
    // A clean stop gives its servers' locks up: another instance takes them now, not a lock period later.
    await Promise.all([...this.running].filter(([, { server }]) => server).map(([id]) => this.release(id)))
    await Promise.all(
      [...this.queues.values()].map(({ queue, events }) =>
        Promise.all([queue.close(), events.close()]).catch(() => undefined),
      ),
    )
    for (const connection of this.connections) this.disconnect(connection)
    this.subscriber.disconnect()
    this.redis.disconnect()
  }

  private connection(): Redis {
    const connection = this.options.connect()
    this.connections.add(connection)
    return connection
  }

  private disconnect(connection: Redis): void {
    this.connections.delete(connection)
    connection.disconnect()
  }

  /** A job with this key: the one queued or running, or a new one (a finished or failed one is replaced). */
  private async addOrJoin(queue: Queue, key: string, data: JobData): Promise<Job> {
    const existing = await queue.getJob(key)
    const state = await existing?.getState()
    if (existing && (state === 'failed' || state === 'completed')) await existing.remove().catch(() => undefined)
    return queue.add('generate', data, {
      jobId: key,
      attempts: 2,
      removeOnComplete: { age: RESULT_TTL_SECONDS },
      removeOnFail: { age: RESULT_TTL_SECONDS },
    })
  }

  /** Waits for `work`; rejects on the caller's abort, or with TeamUnavailable if Redis goes away meanwhile. */
  private until<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(new CancelledError())
      const onGone = (): void => reject(new TeamUnavailable("the team's Redis went away"))
      const done = (): void => {
        signal.removeEventListener('abort', onAbort)
        this.redis.off('close', onGone)
      }
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.redis.once('close', onGone)
      work.then(
        (value) => {
          done()
          resolve(value)
        },
        (error: unknown) => {
          done()
          reject(error)
        },
      )
    })
  }

  private queueFor(name: string): { queue: Queue; events: QueueEvents } {
    let entry = this.queues.get(name)
    if (!entry) {
      const prefix = this.key('bull')
      entry = {
        queue: new Queue(name, { connection: this.connection(), prefix }),
        events: new QueueEvents(name, { connection: this.connection(), prefix }),
      }
      this.queues.set(name, entry)
    }
    return entry
  }

  /** Holds (or renews) the lock of an exclusive worker's server, and runs the worker while it does. */
  private async claim(spec: ServerWorkerSpec): Promise<void> {
    if (this.closed || !this.ready) return
    const id = serverWorkerId(spec)
    const lock = this.lockOf(id)
    // An unreachable server is skipped (its lock given up) and tried again on the next round.
    const available = (await spec.generator.describe()).available
    if (!available) await this.release(id)
    const held = available && (await this.redis.eval(CLAIM, 1, lock, this.instance, this.lockMs)) === 1
    const queue = queueName(spec.generator.id, spec.route?.())
    // A server whose model was renamed (or that restarted with another) serves its new route's queue.
    if (held && this.running.get(id)?.queue !== queue) {
      await this.stopWorker(id)
      this.startWorker(spec, id, true, queue)
    }
    if (!held && this.running.has(id)) await this.stopWorker(id)
  }

  /** Stops a worker (its job under way finishes first) and closes its connection. */
  private async stopWorker(id: string): Promise<void> {
    const running = this.running.get(id)
    if (!running) return
    this.running.delete(id)
    await running.worker.close().catch(() => undefined)
    this.disconnect(running.connection)
  }

  private startWorker(spec: WorkerSpec, id: string, server: boolean, queue: string): void {
    const connection = this.connection()
    const worker = new Worker(
      queue,
      async (job: Job<JobData>, _token, signal) => {
        const { image, mesh, ...fields } = job.data
        const input: GeneratorInput = {
          ...fields,
          image: new Uint8Array(Buffer.from(image, 'base64')),
          ...(mesh ? { mesh: new Uint8Array(Buffer.from(mesh, 'base64')) } : {}),
        }
        try {
          const model = await spec.generator.generate(input, {
            signal: signal ?? new AbortController().signal,
            onProgress: (progress) => void job.updateProgress(progress).catch(() => undefined),
          })
          assertGlb(model.glb, 'The generator')
          const glb = Buffer.from(model.glb.buffer, model.glb.byteOffset, model.glb.byteLength)
          await this.redis.set(this.key('result', job.id as string), glb, 'EX', RESULT_TTL_SECONDS)
          return { sha256: createHash('sha256').update(glb).digest('hex'), bytes: glb.byteLength } satisfies JobResult
        } catch (error) {
          // A cancelled job or a refused request would fail the same way again.
          if (signal?.aborted || (error instanceof AppError && error.code !== 'BACKEND_UNAVAILABLE')) {
            throw new UnrecoverableError(error instanceof Error ? error.message : String(error))
          }
          throw error
        }
      },
      {
        connection,
        prefix: this.key('bull'),
        concurrency: spec.concurrency,
        lockDuration: this.lockMs,
        stalledInterval: Math.max(500, Math.round(this.lockMs / 2)),
        maxStalledCount: 2,
      },
    )
    worker.on('error', (error) => this.log(`team worker: ${error.message}`))
    this.running.set(id, { worker, server, connection, queue })
  }

  /** Gives a server's lock up if this instance holds it. */
  private async release(serverWorker: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.lockOf(serverWorker), this.instance).catch(() => undefined)
  }

  private lockOf(serverWorker: string): string {
    return this.key('owner', createHash('sha256').update(serverWorker).digest('hex').slice(0, 16))
  }

  private key(...parts: string[]): string {
    return [this.options.prefix, ...parts].join(':')
  }
}

/** The team's queue for a backend's jobs keyed for a route (a GPU server's identity and model), or for all of them. */
function queueName(backend: string, route?: string): string {
  return route === undefined
    ? `generate-${backend}`
    : `generate-${backend}-${createHash('sha256').update(route).digest('hex').slice(0, 16)}`
}

/** A GPU server's worker's id in the team, and its lock's name. */
function serverWorkerId(spec: ServerWorkerSpec): string {
  return `${spec.generator.id}@${spec.server}`
}

/** KEYS: lock; ARGV: owner, ms → 1 when this owner holds the lock (taken or renewed). */
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
`
/** KEYS: lock; ARGV: owner → gives the lock up if this owner holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`

function jobFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.startsWith('The ') ? message : `The generation failed in the team: ${message}`
}

/** Queue events after which a waiting job's place in line may have changed. */
const LINE_CHANGES = ['waiting', 'active', 'completed', 'failed', 'removed'] as const

/**
 * A waiting team job's place in its queue's line, as the local queue counts it (jobs ahead:
 * those waiting before it, plus the ones running), asked of Redis when the line changes. Only
 * ids are read (getRanges), never the waiting jobs' pictures; one question at a time.
 */
class LinePlace {
  private asking = false
  private askAgain = false
  private stopped = false

  constructor(
    private readonly queue: Queue,
    private readonly key: string,
    private readonly tell: (jobsAhead: number) => void,
  ) {}

  /** The job has left the line for good: an answer still on its way is not told. */
  stop(): void {
    this.stopped = true
  }

  readonly refresh = (): void => {
    if (this.stopped) return
    if (this.asking) {
      this.askAgain = true
      return
    }
    this.asking = true
    void this.ask().finally(() => {
      this.asking = false
      if (this.askAgain) {
        this.askAgain = false
        this.refresh()
      }
    })
  }

  private async ask(): Promise<void> {
    const [waiting, running] = await Promise.all([
      this.queue.getRanges(['waiting'], 0, -1, true),
      this.queue.getActiveCount(),
    ]).catch(() => [undefined, 0] as const)
    const index = waiting?.indexOf(this.key) ?? -1
    if (index >= 0 && !this.stopped) this.tell(index + running)
  }
}
