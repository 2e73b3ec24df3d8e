import { EventEmitter } from 'node:events'
import { type Addresses, shortKey } from '../../shared/addresses'
import type {
  BackendInfo,
  BackendTestResult,
  GenerateResult,
  ProgressEvent,
  ServiceStats,
  SimilarResult,
} from '../../shared/contract'
import { AppError, CancelledError, isAbortError, toErrorPayload } from '../../shared/errors'
import type { CallContext, EventPayload, ParsedInput, ServiceOperations } from '../../shared/operations'
import type { ParsedGenerateRequest } from '../../shared/schemas'
import type { LogFn } from '../app-log'
import type { Generator, RemoteJob } from '../generation/generator'
import { DIALECTS } from '../generation/hunyuan/dialects'
import { inspectImage } from '../generation/image-input'
import { RequestKeys } from '../generation/request-key'
import { type JobStore, MemoryJobStore } from '../jobs/job-store'
import { Jobs } from '../jobs/jobs'
import { perceptualHash } from '../similar/perceptual-hash'
import { SimilarModels } from '../similar/similar-models'
import type { SettingsStore } from '../storage/settings-store'
import type { Backends } from './backends'
import { CacheAdmin } from './cache-admin'
import { ChangeFeed } from './change-feed'
import type { GpuServers } from './gpu-servers'
import { appJob, type Job, type Keyed, type TexturedRequest } from './job'
import { RequestLog } from './request-log'
import { RequestTracker, type TrackedRequest } from './request-tracker'
import { ShapeReuse } from './shape-reuse'
import { SimilarOffers } from './similar-offers'
import { makeThumbnail } from './thumbnail'
import type { Generated, TieredStore } from './tiered-store'

export interface ModelServiceOptions {
  store: TieredStore
  /** Where queued jobs are kept (default: in memory, as without a data folder). */
  jobStore?: JobStore
  backends: Backends
  /** How this transport addresses models and thumbnails. */
  addresses: Addresses
  settings?: SettingsStore
  requestLog?: RequestLog
  similar?: SimilarModels
  /** The host's log: each generation's end, each failure. */
  log?: LogFn
  /** The GPU servers set up in the app (absent: none can be added, as in some tests). */
  gpuServers?: GpuServers
}

/** A request with `texture` decided: as asked, else the generator's default. */
async function withTexture(request: ParsedGenerateRequest, generator: Generator): Promise<TexturedRequest> {
  return { ...request, texture: request.texture ?? (await generator.textureByDefault?.(request.model)) ?? false }
}

export type ServiceEvents = {
  progress: [EventPayload<'progress'>]
  cacheChanged: [EventPayload<'cacheChanged'>]
  jobsChanged: [EventPayload<'jobsChanged'>]
}

/**
 * The coordinator behind both transports: turns an already-validated request into a key,
 * asks the tiers for it, and has the backends generate what no tier holds, reporting
 * progress to every request waiting on the key. Storage lives in TieredStore, generators in
 * Backends; this class only connects them.
 */
export class ModelService implements ServiceOperations {
  readonly events = new EventEmitter<ServiceEvents>()
  readonly store: TieredStore
  private readonly backendSet: Backends
  private readonly keys = new RequestKeys()
  private readonly requests = new RequestTracker((event: ProgressEvent) => this.events.emit('progress', event))
  private readonly similarModels: SimilarModels
  private readonly log: RequestLog
  private readonly offers: SimilarOffers
  private readonly admin: CacheAdmin
  private readonly shapes: ShapeReuse
  /** The queue of accepted requests, kept across quits and crashes. */
  readonly queue: Jobs

  constructor(private readonly options: ModelServiceOptions) {
    this.store = options.store
    this.backendSet = options.backends
    this.similarModels = options.similar ?? new SimilarModels()
    this.log = options.requestLog ?? new RequestLog()
    this.offers = new SimilarOffers(this.similarModels, this.store, options.addresses, this.log)
    this.shapes = new ShapeReuse(this.store)
    this.admin = new CacheAdmin(this.store, this.similarModels, options.addresses, this.log, options.settings)
    const changes = new ChangeFeed((event) => this.events.emit('cacheChanged', event))
    this.store.onChange = (reason) => changes.changed(reason)
    this.queue = new Jobs({
      store: options.jobStore ?? new MemoryJobStore(),
      generate: (request, context) => this.generate(request, context),
      inspect: inspectImage,
      smallPicture: makeThumbnail,
      addresses: options.addresses,
      emit: (event) => this.events.emit('jobsChanged', event),
      log: options.log,
    })
    this.events.on('progress', (event) => this.queue.onProgress(event))
  }

  submitJobs({ requests }: ParsedInput<'submitJobs'>) {
    return this.queue.submit(requests)
  }

  async jobs() {
    return this.queue.list()
  }

  cancelJob({ id }: ParsedInput<'cancelJob'>) {
    return this.queue.cancel(id)
  }

  retryJob({ id }: ParsedInput<'retryJob'>) {
    return this.queue.retry(id)
  }

  clearJobs() {
    return this.queue.clear()
  }

  /** A queued job's picture, small, for the list. */
  picture(id: string): Promise<Uint8Array | undefined> {
    return this.queue.picture(id)
  }

  generate(asked: ParsedGenerateRequest, context: CallContext & { remote?: RemoteJob } = {}): Promise<GenerateResult> {
    return this.tracked(asked.requestId, context.signal, async (tracked, started) => {
      const { generator, fallback } = await this.backendSet.choose(asked.backend, asked.model)
      const request = await withTexture(asked, generator)
      const keyed = await this.keys.keyOf(request, generator)
      if (request.reuse === 'similar' && !this.store.has(keyed.key)) {
        const reused = await this.offers.reuse(request, generator, keyed, tracked.id, started)
        if (reused) return reused
      }
      const job = await this.appJobFor(request, generator, keyed)
      if (context.remote) job.input.remote = context.remote
      const { result } = await this.serve(job, tracked, started)
      return fallback && result.tier === 'generator' ? { ...result, fallback } : result
    })
  }

  async similar(asked: ParsedGenerateRequest): Promise<SimilarResult> {
    const generator = await this.backendSet.pick(asked.backend, asked.model)
    const request = await withTexture(asked, generator)
    return this.offers.offer(request, generator, await this.keys.keyOf(request, generator))
  }

  async cancel({ requestId }: ParsedInput<'cancel'>): Promise<{ cancelled: boolean }> {
    return { cancelled: this.requests.cancel(requestId) }
  }

  async stats(): Promise<ServiceStats> {
    return {
      ...this.store.stats(),
      similarOffers: this.similarModels.offers,
      similarReuses: this.similarModels.reuses,
      shapeReuses: this.shapes.reuses,
      shapeSavedMs: Math.round(this.shapes.savedMs),
    }
  }

  entries(query: ParsedInput<'entries'>) {
    return this.admin.entries(query)
  }

  deleteEntry(input: ParsedInput<'deleteEntry'>) {
    return this.admin.deleteEntry(input)
  }

  clear(input: ParsedInput<'clear'>) {
    return this.admin.clear(input)
  }

  getConfig() {
    return this.admin.getConfig()
  }

  setConfig(patch: ParsedInput<'setConfig'>) {
    return this.admin.setConfig(patch)
  }

  policyReport() {
    return this.admin.policyReport()
  }

  /** Keys every request first (a bad picture refuses the whole batch), then generates them in the background. */
  async warm({ requests }: ParsedInput<'warm'>): Promise<{ keys: string[] }> {
    const planned = await Promise.all(
      requests.map(async (asked) => {
        const generator = await this.backendSet.pick(asked.backend, asked.model)
        const request = await withTexture(asked, generator)
        const keyed = await this.keys.keyOf(request, generator)
        return { job: await this.appJobFor(request, generator, keyed), key: keyed.key }
      }),
    )
    for (const { job } of planned) {
      const tracked = this.requests.begin(undefined)
      this.serve(job, tracked, performance.now())
        .catch(() => undefined) // counted as a load failure; there is no caller to tell
        .finally(() => tracked.end())
    }
    return { keys: planned.map((p) => p.key) }
  }

  async backends(): Promise<BackendInfo[]> {
    return this.backendSet.describeAll()
  }

  async addBackend(input: ParsedInput<'addBackend'>): Promise<BackendInfo[]> {
    await this.gpuServers().add(input)
    return this.backends()
  }

  async removeBackend(input: ParsedInput<'removeBackend'>): Promise<BackendInfo[]> {
    await this.gpuServers().remove(input)
    return this.backends()
  }

  async setBackendModel(input: ParsedInput<'setBackendModel'>): Promise<BackendInfo[]> {
    await this.gpuServers().setModel(input)
    return this.backends()
  }

  testBackend(input: ParsedInput<'testBackend'>): Promise<BackendTestResult> {
    return this.gpuServers().test(input)
  }

  /** The GPU servers set up in the app (the desktop shell attaches its local server here). */
  get servers(): GpuServers | undefined {
    return this.options.gpuServers
  }

  private gpuServers(): GpuServers {
    if (!this.options.gpuServers) throw new AppError('INVALID_REQUEST', 'GPU servers cannot be set up here.')
    return this.options.gpuServers
  }

  model(key: string): Promise<Uint8Array | undefined> {
    return this.store.model(key)
  }

  thumbnail(key: string): Promise<Uint8Array | undefined> {
    return this.store.thumbnail(key)
  }

  /** Opens the tiers, indexes what they hold for similar-picture lookups, loads the request log. */
  async open(): Promise<void> {
    await Promise.all([this.store.open(), this.log.load()])
    await this.queue.open()
    // Indexing every stored picture for similar-picture offers does not hold up the first answer.
    void this.store.eachEntry((key, meta) => this.similarModels.remember(key, meta))
  }

  /** Waits for writes under way and saves every index and log (on quit, and in tests). */
  async flush(): Promise<void> {
    await Promise.all([this.store.flush(), this.log.save()])
  }

  async close(): Promise<void> {
    await this.queue.close()
    await this.flush()
    this.store.close()
    await this.backendSet.close()
  }

  /**
   * Serves a job for a caller from outside the operation table (the Hunyuan3D-2 protocol):
   * the same tiers, single flight, progress and statistics as the app's own requests.
   */
  run(
    job: Job,
    context: CallContext & { requestId?: string } = {},
  ): Promise<{ result: GenerateResult; bytes: Uint8Array }> {
    return this.tracked(context.requestId, context.signal, (tracked, started) => this.serve(job, tracked, started))
  }

  /** Runs a caller's request as a tracked one (cancellable by id); an abort reaches the caller as CANCELLED. */
  private async tracked<T>(
    requestId: string | undefined,
    signal: AbortSignal | undefined,
    work: (tracked: TrackedRequest, started: number) => Promise<T>,
  ): Promise<T> {
    const started = performance.now()
    const tracked = this.requests.begin(requestId, signal)
    try {
      return await work(tracked, started)
    } catch (error) {
      throw tracked.signal.aborted || isAbortError(error) ? new CancelledError() : error
    } finally {
      tracked.end()
    }
  }

  /** The pixel digests (shared with other ways of keying requests, so a picture is decoded once). */
  get digester(): RequestKeys['digester'] {
    return this.keys.digester
  }

  /** The named backend, or the one new requests use (the first available in order of preference). */
  pickBackend(id?: string): Promise<Generator> {
    return this.backendSet.pick(id)
  }

  /**
   * An app request's job. A textured request names its untextured twin's key: when that model
   * is cached and the backend textures a given mesh, only texturing runs (see `produce`).
   */
  private async appJobFor(request: TexturedRequest, generator: Generator, keyed: Keyed): Promise<Job> {
    const kind = await generator.serverKind?.(request.model)
    const job = appJob(request, generator, keyed, kind)
    if (request.texture && kind && DIALECTS[kind.variant].texturesGivenMesh) {
      job.shapeKey = (await this.keys.keyOf({ ...request, texture: false }, generator)).key
    }
    return job
  }

  private async serve(job: Job, tracked: TrackedRequest, started: number) {
    const { key, generator } = job
    tracked.watch(key)
    const loaded = await this.store.getOrLoad(key, (signal) => this.produce(job, signal), tracked.signal)
    this.log.record({ key, bytes: loaded.bytes.byteLength, generationMs: loaded.generationMs })
    // A model read back from a persistent tier is a hit for the request that asked first.
    const fromTier = loaded.outcome === 'miss' && loaded.tier !== 'generator'
    const result: GenerateResult = {
      requestId: tracked.id,
      key,
      cache: fromTier ? 'hit' : loaded.outcome,
      tier: loaded.tier,
      bytes: loaded.bytes.byteLength,
      generationMs: Math.round(loaded.generationMs),
      servedMs: performance.now() - started,
      backend: generator.id,
      ...(typeof job.meta.model === 'string' ? { model: job.meta.model } : {}),
      modelUrl: this.options.addresses('model', key),
      kept: loaded.kept,
      ...(loaded.tier === 'generator' && this.shapes.reused(key) ? { shapeReused: true } : {}),
    }
    return { result, bytes: loaded.bytes }
  }

  /** Runs the generation itself; the thumbnail and perceptual hash are made beside it. */
  private async produce(job: Job, signal: AbortSignal): Promise<Generated> {
    const { key, picture } = job
    const extras = Promise.all([
      picture ? makeThumbnail(picture) : undefined,
      picture ? perceptualHash(picture).catch(() => undefined) : undefined,
    ])
    const input = { ...job.input, ...(await this.shapes.meshFor(job)) }
    const started = performance.now()
    try {
      const glb = await this.backendSet.run(job.generator, input, {
        key,
        signal,
        onProgress: (progress) => this.requests.progress(key, progress),
      })
      const generationMs = performance.now() - started
      this.options.log?.('generated', {
        key: shortKey(key),
        backend: job.generator.id,
        ms: Math.round(generationMs),
        bytes: glb.byteLength,
        ...(input.mesh ? { shapeReused: true } : {}),
      })
      const [thumbnail, phash] = await extras
      const meta = { ...job.meta, thumbnail: thumbnail !== undefined, ...(phash ? { phash } : {}) }
      this.similarModels.remember(key, meta)
      return { glb, generationMs, meta, ...(thumbnail ? { thumbnail } : {}) }
    } catch (error) {
      this.shapes.failed(key)
      if (!signal.aborted) {
        this.options.log?.('generation failed', {
          key: shortKey(key),
          backend: job.generator.id,
          error: toErrorPayload(error).message,
        })
      }
      throw error
    } finally {
      this.requests.finished(key)
    }
  }
}
