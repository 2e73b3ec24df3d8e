import { createHash, randomBytes } from 'node:crypto'
import type { Addresses } from '../../shared/addresses'
import type {
  GenerateResult,
  JobInfo,
  JobResume,
  JobState,
  JobsChangedEvent,
  JobsList,
  ProgressEvent,
  SubmitJobsResult,
} from '../../shared/contract'
import { AppError, isAbortError, toErrorPayload } from '../../shared/errors'
import { MAX_FINISHED_JOBS } from '../../shared/limits'
import type { ParsedGenerateRequest, ParsedJobRequest } from '../../shared/schemas'
import type { LogFn } from '../app-log'
import type { RemoteHandle, RemoteJob } from '../generation/generator'
import { letGo } from '../generation/parked-picture'
import { canonicalJson } from '../generation/request-key'
import { release } from '../memory/release'
import { JOB_RECORD_VERSION, type JobRecord } from './job-record'
import type { JobStore } from './job-store'

export interface JobsOptions {
  store: JobStore
  /** Runs one request through the cache and the generators (ModelService.generate). */
  generate(request: ParsedGenerateRequest, context: { signal: AbortSignal; remote: RemoteJob }): Promise<GenerateResult>
  /** Refuses what is not a picture, before anything is accepted. */
  inspect(image: Uint8Array): Promise<unknown>
  /**
   * Whether a tier already holds the request's model: such a job is answered at once, done,
   * with nothing to keep on disk (the model is kept already), so a cached model is on screen
   * as fast as through /api/generate-3d-cached.
   */
  cached?(request: ParsedGenerateRequest): Promise<boolean>
  /** The small picture shown in the list (undefined when it cannot be made). */
  smallPicture(image: Uint8Array): Promise<Uint8Array | undefined>
  addresses: Addresses
  emit(event: JobsChangedEvent): void
  /**
   * Jobs handed to the generators at once. Each holds its picture (and its decodes) in memory
   * while it runs or waits in a generator's queue; the rest wait on disk, so memory does not
   * grow with the queue.
   */
  inFlight?: number
  now?: () => number
  log?: LogFn
}

const FINISHED: readonly JobState[] = ['done', 'failed', 'cancelled']
const isFinished = (record: JobRecord): boolean => FINISHED.includes(record.state)

/** SHA-256 of the picture's bytes and the settings: what makes two requests the same job. */
function fingerprintOf(image: Uint8Array, settings: JobRecord['settings']): string {
  return createHash('sha256').update(image).update(canonicalJson(settings)).digest('hex')
}

/**
 * What a restart does with a job that was handed to the generators: collect it, send it again,
 * or run it again; nothing to say when it was still waiting in a generator's queue.
 */
function resumeOf(record: JobRecord): JobResume | undefined {
  if (record.remote) return 'collected'
  if (!record.server) return undefined
  return record.server.startsWith('http') ? 'sent again' : 'run again'
}

/**
 * The queue a user fills and walks away from. A job is written to the data folder (its
 * picture first) before it is acknowledged; a few at a time go to the generators (through the
 * cache, so an identical request is one generation), the rest wait on disk. At start the queue
 * resumes: waiting jobs run, a job a GPU server accepted through /send is collected by its uid
 * (no second GPU job), a 2.0 /generate job whose connection died is sent again, and a builtin
 * one runs again, each saying so. Modelled on mold's durable jobs (utensils/mold), with the
 * cache's single flight in place of its own.
 */
export class Jobs {
  private readonly records = new Map<string, JobRecord>()
  private readonly live = new Map<
    string,
    { controller: AbortController; progress?: ProgressEvent; ended: Promise<void> }
  >()
  /** How each job finished while this process ran (what the form shows of the job it waits on). */
  private readonly results = new Map<string, GenerateResult>()
  private problems: string[] = []
  private readonly inFlight: number
  private readonly now: () => number
  private closing = false
  /** Submissions are taken one after another, so identical ones sent at once find each other. */
  private accepting: Promise<unknown> = Promise.resolve()
  /** Small pictures being made, one after another. */
  private smalls: Promise<unknown> = Promise.resolve()
  /**
   * Counts changes, from this process's start time up: an answer and an event about one job
   * may arrive in either order, and the one with the higher revision is the later state.
   */
  private revision = Date.now() * 1000
  /** Each record's latest write: the next one starts after it. */
  private readonly lastWrite = new Map<string, Promise<void>>()
  /** Records being written: a clean stop waits for them. */
  private readonly saving = new Set<Promise<void>>()

  constructor(private readonly options: JobsOptions) {
    this.inFlight = options.inFlight ?? 2
    this.now = options.now ?? Date.now
  }

  /** Reads the kept jobs and resumes the queue (a damaged record is set aside and reported). */
  async open(): Promise<void> {
    const { records, problems } = await this.options.store.load()
    this.problems = problems
    for (const problem of problems) this.options.log?.('job set aside', { problem })
    for (const record of records) {
      if (record.state === 'running') {
        const resumed = resumeOf(record)
        this.options.log?.('job resumed', { id: record.id, resumed: resumed ?? 'waits again' })
        // The remote handle stays: the run collects by it when its server still holds the job.
        Object.assign(record, { state: 'waiting', ...(resumed ? { resumed } : {}) })
        await this.save(record)
      }
      this.records.set(record.id, record)
      if (!record.hasSmall && record.hasPicture) this.makeSmall(record)
    }
    await this.bound()
    this.pump()
  }

  /** Accepts requests as jobs (each kept before this answers); a request identical to a waiting or running job joins it. */
  async submit(requests: ParsedJobRequest[]): Promise<SubmitJobsResult> {
    // A batch with a file that is not a picture is refused whole, before anything is kept.
    await Promise.all(requests.map((request) => this.options.inspect(request.image)))
    const accepted = this.accepting.then(() => this.accept(requests))
    this.accepting = accepted.catch(() => undefined)
    return accepted
  }

  private async accept(requests: ParsedJobRequest[]): Promise<SubmitJobsResult> {
    const jobs: JobInfo[] = []
    for (const { image, pictureName, ...asked } of requests) {
      const { prompt, quality, seed, texture, backend, model, reuse } = asked
      const settings = { prompt, quality, seed, texture, backend, model, reuse }
      const fingerprint = fingerprintOf(image, settings)
      const same = [...this.records.values()].find(
        (each) => each.fingerprint === fingerprint && (each.state === 'waiting' || each.state === 'running'),
      )
      if (same) {
        jobs.push(this.info(same))
        continue
      }
      const record: JobRecord = {
        v: JOB_RECORD_VERSION,
        id: randomBytes(16).toString('hex'),
        state: 'waiting',
        pictureName: pictureName ?? null,
        settings: JSON.parse(JSON.stringify(settings)) as JobRecord['settings'],
        fingerprint,
        queuedAt: this.now(),
        hasPicture: true,
      }
      const request = { ...record.settings, image, requestId: record.id, ...(pictureName ? { pictureName } : {}) }
      if (await this.options.cached?.(request).catch(() => false)) {
        jobs.push(await this.answerFromCache(record, request))
        continue
      }
      // Its first write: later writes of the record go after it (see save).
      const created = this.options.store.create({ ...record }, image)
      this.lastWrite.set(
        record.id,
        created.catch(() => undefined),
      )
      await created
      // The job reads its picture back from disk when it runs.
      letGo(image)
      this.records.set(record.id, record)
      this.changed(record)
      jobs.push(this.info(record))
      this.makeSmall(record)
    }
    this.pump()
    return { jobs }
  }

  /** A job whose model a tier holds: served now, listed as done (its picture is the model's thumbnail). */
  private async answerFromCache(record: JobRecord, request: ParsedGenerateRequest): Promise<JobInfo> {
    Object.assign(record, { hasPicture: false, state: 'running', startedAt: this.now() })
    this.records.set(record.id, record)
    try {
      const result = await this.options.generate(request, { signal: new AbortController().signal, remote: {} })
      this.results.set(record.id, result)
      Object.assign(record, { state: 'done', key: result.key, cache: result.cache, endedAt: this.now() })
    } catch (error) {
      Object.assign(record, { state: 'failed', error: toErrorPayload(error).message, endedAt: this.now() })
    }
    // Kept for the list; nothing is lost if a crash comes first (the model is in its tiers already).
    void this.save(record)
    this.changed(record)
    void this.bound()
    return this.info(record)
  }

  /**
   * Makes a job's small picture after it was acknowledged, one at a time from the picture on
   * disk: a batch of large pictures is never decoded all at once, nor held while it waits.
   */
  private makeSmall(record: JobRecord): void {
    this.smalls = this.smalls
      .then(async () => {
        if (this.closing || !this.records.has(record.id) || record.hasSmall) return
        const image = await this.options.store.picture(record.id)
        const small = image ? await this.options.smallPicture(image) : undefined
        if (image) release(image)
        if (!small || !this.records.has(record.id)) return
        await this.options.store.putSmall(record.id, small)
        record.hasSmall = true
        await this.save(record)
        this.changed(record)
      })
      .catch(() => undefined)
  }

  list(): JobsList {
    const waiting = [...this.records.values()].filter((record) => record.state === 'waiting')
    return {
      jobs: [...this.records.values()].map((record) => this.info(record, waiting.indexOf(record) + 1)),
      problems: this.problems,
    }
  }

  /** Ends a job in any state: a waiting one never runs, a running one is stopped. */
  async cancel(id: string): Promise<JobInfo> {
    const record = this.find(id)
    if (record.state === 'waiting') {
      await this.finish(record, { state: 'cancelled' })
    } else if (record.state === 'running') {
      const live = this.live.get(id)
      live?.controller.abort()
      // Answered once the job has ended (its state saved), so a retry may follow at once.
      await live?.ended
    }
    return this.info(record)
  }

  /**
   * Queues a failed or cancelled job again; with `backend`, on that generator instead (the
   * choice offered when its GPU server went silent): the GPU weights it named go with it.
   */
  async retry(id: string, backend?: string): Promise<JobInfo> {
    const record = this.find(id)
    if (record.state !== 'failed' && record.state !== 'cancelled') {
      throw new AppError('INVALID_REQUEST', 'Only a failed or cancelled job can be retried.')
    }
    if (!record.hasPicture) throw new AppError('INVALID_REQUEST', "This job's picture is no longer kept: add it again.")
    const { v, id: same, pictureName, hasPicture, hasSmall } = record
    let { settings, fingerprint } = record
    if (backend !== undefined && backend !== settings.backend) {
      const { model: _weights, ...rest } = settings
      settings = { ...rest, backend }
      const image = await this.options.store.picture(id)
      if (!image) throw new AppError('INVALID_REQUEST', "This job's picture is no longer kept: add it again.")
      fingerprint = fingerprintOf(image, settings)
    }
    const fresh: JobRecord = {
      ...{ v, id: same, state: 'waiting', pictureName, settings, fingerprint, hasPicture },
      ...(hasSmall ? { hasSmall } : {}),
      queuedAt: this.now(),
    }
    this.records.delete(id)
    this.results.delete(id)
    this.records.set(id, fresh)
    // As queued: another job ending meanwhile may start it at once.
    const queued = this.info(fresh)
    await this.save(fresh)
    this.changed(fresh)
    this.pump()
    return queued
  }

  /** Removes every finished job (done, failed, cancelled) from the list and the data folder. */
  async clear(): Promise<{ cleared: number }> {
    const finished = [...this.records.values()].filter(isFinished)
    await this.remove(finished)
    return { cleared: finished.length }
  }

  /** A job's small picture, for the list. */
  picture(id: string): Promise<Uint8Array | undefined> {
    return this.records.has(id) ? this.options.store.small(id) : Promise.resolve(undefined)
  }

  /** Progress of the cache's requests: a job's request has the job's id. */
  onProgress(event: ProgressEvent): void {
    const live = this.live.get(event.requestId)
    const record = this.records.get(event.requestId)
    if (!live || !record) return
    live.progress = event
    if (event.server && event.server !== record.server) {
      // Where it runs is kept: a restart then knows whether a GPU server had it.
      record.server = event.server
      void this.save(record)
    }
    this.changed(record)
  }

  /** Stops handing out jobs; those running stay 'running' on disk, so the next start resumes them. */
  async close(): Promise<void> {
    this.closing = true
    for (const { controller } of this.live.values()) controller.abort()
    await Promise.all([...this.saving, this.smalls])
  }

  /** Starts waiting jobs while fewer than `inFlight` run. */
  private pump(): void {
    if (this.closing) return
    for (const record of this.records.values()) {
      if (this.live.size >= this.inFlight) return
      if (record.state === 'waiting') void this.run(record)
    }
  }

  private async run(record: JobRecord): Promise<void> {
    const controller = new AbortController()
    let ended = (): void => undefined
    this.live.set(record.id, { controller, ended: new Promise((resolve) => (ended = resolve)) })
    const resume = record.resumed === 'collected' ? record.remote : undefined
    Object.assign(record, { state: 'running', startedAt: this.now() })
    try {
      await this.save(record)
      this.changed(record)
      const image = await this.options.store.picture(record.id)
      if (!image) throw new AppError('INTERNAL', "This job's picture is missing from the data folder.")
      const { settings } = record
      const request = {
        ...settings,
        image,
        requestId: record.id,
        ...(record.pictureName ? { pictureName: record.pictureName } : {}),
      }
      const remote: RemoteJob = {
        ...(resume ? { resume } : {}),
        onSent: (handle: RemoteHandle) => {
          // Sent again although a handle was kept: the server had lost the job.
          if (record.resumed === 'collected' && record.remote?.uid !== handle.uid) record.resumed = 'sent again'
          record.remote = handle
          void this.save(record)
        },
      }
      const result = await this.options.generate(request, { signal: controller.signal, remote })
      // Its generation is over (a failed or cancelled one may still be shared by another request).
      release(image)
      this.results.set(record.id, result)
      await this.finish(record, { state: 'done', key: result.key, cache: result.cache })
    } catch (error) {
      if (this.closing) return
      const cancelled = controller.signal.aborted || isAbortError(error) || toErrorPayload(error).code === 'CANCELLED'
      await this.finish(
        record,
        cancelled ? { state: 'cancelled' } : { state: 'failed', error: toErrorPayload(error).message },
      )
    } finally {
      this.live.delete(record.id)
      ended()
      this.pump()
    }
  }

  private async finish(
    record: JobRecord,
    outcome: Pick<JobRecord, 'state' | 'key' | 'cache' | 'error'>,
  ): Promise<void> {
    const dropPicture = outcome.state === 'done' && record.hasPicture
    Object.assign(record, outcome, { endedAt: this.now(), remote: undefined }, dropPicture ? { hasPicture: false } : {})
    // Saved in the same turn as the change, so a stop that comes now waits for it.
    const saved = this.save(record)
    this.changed(record)
    await saved
    // A done job's picture goes after its record says so (a leftover is swept at the next start),
    // and after its small picture for the list is made from it.
    if (dropPicture) {
      await this.smalls
      await this.options.store.dropPicture(record.id).catch(() => undefined)
    }
    await this.bound()
  }

  /** Keeps at most MAX_FINISHED_JOBS finished jobs: the oldest go. */
  private async bound(): Promise<void> {
    const finished = [...this.records.values()].filter(isFinished)
    await this.remove(finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_JOBS)))
  }

  private async remove(records: JobRecord[]): Promise<void> {
    if (records.length === 0) return
    for (const record of records) {
      this.records.delete(record.id)
      this.results.delete(record.id)
      await this.options.store.remove(record.id).catch(() => undefined)
    }
    this.options.emit({ removed: records.map((record) => record.id) })
  }

  private find(id: string): JobRecord {
    const record = this.records.get(id)
    if (!record) throw new AppError('NOT_FOUND', 'No job has that id (it may have been cleared).')
    return record
  }

  /**
   * Writes a job's record as it is now, after the writes of it already under way: two writes
   * of one record never finish out of order, so the file never goes back to an older state.
   */
  private async save(record: JobRecord): Promise<void> {
    const snapshot = { ...record }
    const previous = this.lastWrite.get(record.id) ?? Promise.resolve()
    const write = previous.then(() =>
      this.options.store.update(snapshot).catch((error: unknown) => {
        // The job goes on in memory; what could not be kept is said in the log.
        this.options.log?.('job not saved', { id: record.id, error: toErrorPayload(error).message })
      }),
    )
    this.lastWrite.set(record.id, write)
    this.saving.add(write)
    await write.finally(() => {
      this.saving.delete(write)
      if (this.lastWrite.get(record.id) === write) this.lastWrite.delete(record.id)
    })
  }

  private changed(record: JobRecord): void {
    if (!this.records.has(record.id)) return
    this.revision++
    this.options.emit({ job: this.info(record) })
  }

  private info(record: JobRecord, position?: number): JobInfo {
    const progress = record.state === 'running' ? this.live.get(record.id)?.progress : undefined
    const { id, state, pictureName, settings, queuedAt, startedAt, endedAt, key, cache, error, resumed } = record
    return {
      id,
      revision: this.revision,
      state,
      pictureName,
      settings,
      queuedAt,
      ...(record.hasSmall
        ? { pictureUrl: this.options.addresses('picture', id) }
        : key && !record.hasPicture
          ? { pictureUrl: this.options.addresses('thumbnail', key) }
          : {}),
      ...(position ? { position } : progress?.position !== undefined ? { position: progress.position } : {}),
      ...(record.server ? { server: record.server } : {}),
      ...(progress ? { stage: progress.stage, fraction: progress.fraction } : {}),
      ...(progress?.silentSince === undefined ? {} : { silentSince: progress.silentSince }),
      ...(startedAt !== undefined ? { startedAt } : {}),
      ...(endedAt !== undefined ? { endedAt } : {}),
      ...(key ? { key, modelUrl: this.options.addresses('model', key) } : {}),
      ...(cache ? { cache } : {}),
      ...(error ? { error } : {}),
      ...(resumed ? { resumed } : {}),
      ...(this.results.has(id) ? { result: this.results.get(id) } : {}),
    }
  }
}
