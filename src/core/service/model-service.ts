import { EventEmitter } from 'node:events'
import type { Addresses } from '../../shared/addresses'
import type {
  BackendInfo,
  CacheConfig,
  ClearResult,
  EntriesPage,
  GenerateResult,
  PolicyReport,
  ProgressEvent,
  ServiceStats,
  SimilarResult,
} from '../../shared/contract'
import { AppError, CancelledError, isAbortError } from '../../shared/errors'
import type { CallContext, EventPayload, ParsedInput, ServiceOperations } from '../../shared/operations'
import type { ParsedGenerateRequest } from '../../shared/schemas'
import { replayPolicies } from '../cache/what-if'
import type { Generator } from '../generation/generator'
import { RequestKeys } from '../generation/request-key'
import { perceptualHash } from '../similar/perceptual-hash'
import { SimilarModels } from '../similar/similar-models'
import type { SettingsStore } from '../storage/settings-store'
import type { Backends } from './backends'
import { ChangeFeed } from './change-feed'
import { appJob, appParams, type Job } from './job'
import { RequestLog } from './request-log'
import { RequestTracker, type TrackedRequest } from './request-tracker'
import { makeThumbnail } from './thumbnail'
import type { Generated, TieredStore } from './tiered-store'

export interface ModelServiceOptions {
  store: TieredStore
  backends: Backends
  /** How this transport addresses models and thumbnails. */
  addresses: Addresses
  settings?: SettingsStore
  requestLog?: RequestLog
  similar?: SimilarModels
}

export type ServiceEvents = { progress: [EventPayload<'progress'>]; cacheChanged: [EventPayload<'cacheChanged'>] }

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

  constructor(private readonly options: ModelServiceOptions) {
    this.store = options.store
    this.backendSet = options.backends
    this.similarModels = options.similar ?? new SimilarModels()
    this.log = options.requestLog ?? new RequestLog()
    const changes = new ChangeFeed((event) => this.events.emit('cacheChanged', event))
    this.store.onChange = (reason) => changes.changed(reason)
  }

  async generate(request: ParsedGenerateRequest, context: CallContext = {}): Promise<GenerateResult> {
    const started = performance.now()
    const tracked = this.requests.begin(request.requestId, context.signal)
    try {
      const generator = await this.backendSet.pick(request.backend)
      const key = await this.keys.keyOf(request, generator)
      if (request.reuse === 'similar' && !this.store.has(key)) {
        const reused = await this.reuseSimilar(request, generator, key, tracked.id, started)
        if (reused) return reused
      }
      return (await this.serve(appJob(request, generator, key), tracked, started)).result
    } catch (error) {
      throw tracked.signal.aborted || isAbortError(error) ? new CancelledError() : error
    } finally {
      tracked.end()
    }
  }

  async similar(request: ParsedGenerateRequest): Promise<SimilarResult> {
    const generator = await this.backendSet.pick(request.backend)
    const key = await this.keys.keyOf(request, generator)
    const found = await this.findSimilar(request, generator, key)
    if (found.length > 0) this.similarModels.offers++
    const matches = found.flatMap(({ key: match, distance }) => {
      const info = this.store.info(match)
      if (!info) return []
      const { addresses } = this.options
      const prompt = String(info.meta.prompt ?? '')
      const { bytes, generationMs } = info
      return [
        {
          key: match,
          distance,
          prompt,
          bytes,
          generationMs,
          modelUrl: addresses('model', match),
          thumbnailUrl: addresses('thumbnail', match),
        },
      ]
    })
    return { matches }
  }

  async cancel({ requestId }: ParsedInput<'cancel'>): Promise<{ cancelled: boolean }> {
    return { cancelled: this.requests.cancel(requestId) }
  }

  async stats(): Promise<ServiceStats> {
    return { ...this.store.stats(), similarOffers: this.similarModels.offers, similarReuses: this.similarModels.reuses }
  }

  async entries(query: ParsedInput<'entries'>): Promise<EntriesPage> {
    const page = await this.store.entries(query)
    const items = page.items.map((entry) => ({
      ...entry,
      thumbnailUrl: entry.meta.thumbnail === true ? this.options.addresses('thumbnail', entry.key) : null,
    }))
    return { ...page, items }
  }

  async deleteEntry({ key, scope }: ParsedInput<'deleteEntry'>): Promise<{ deleted: true }> {
    if (scope === 'team' && !this.store.shared) throw noTeamTier()
    if (!(await this.store.delete(key, scope === 'team')))
      throw new AppError('NOT_FOUND', 'No cached model has that key.')
    this.similarModels.forget(key)
    return { deleted: true }
  }

  async clear({ scope }: ParsedInput<'clear'>): Promise<ClearResult> {
    if (scope === 'team' && !this.store.shared) throw noTeamTier()
    if (scope !== 'memory') this.similarModels.clear()
    return this.store.clear(scope)
  }

  async getConfig(): Promise<CacheConfig> {
    return { ...this.store.config(), similarityThreshold: this.similarModels.threshold }
  }

  async setConfig(patch: ParsedInput<'setConfig'>): Promise<CacheConfig> {
    const { diskMaxBytes, policy, similarityThreshold, ...limits } = patch
    if (diskMaxBytes !== undefined && !this.store.disk?.enabled) {
      throw new AppError('INVALID_REQUEST', 'There is no disk tier to limit: it is off or its folder is unusable.')
    }
    this.store.setLimits(limits, diskMaxBytes)
    if (policy !== undefined) this.store.setPolicy(policy)
    if (similarityThreshold !== undefined) this.similarModels.threshold = similarityThreshold
    const config = await this.getConfig()
    const { diskMaxBytes: disk, ...rest } = config
    await this.options.settings
      ?.save({ ...rest, ...(disk === null ? {} : { diskMaxBytes: disk }) })
      .catch((error: unknown) => {
        console.warn(`MeshCache: the cache settings could not be saved (${String(error)}).`)
      })
    return config
  }

  async policyReport(): Promise<PolicyReport> {
    const log = this.log.recent()
    const { maxItems, maxBytes, policy } = this.store.config()
    return { requests: log.length, current: policy, results: replayPolicies(log, { maxItems, maxBytes }) }
  }

  /** Keys every request first (a bad picture refuses the whole batch), then generates them in the background. */
  async warm({ requests }: ParsedInput<'warm'>): Promise<{ keys: string[] }> {
    const planned = await Promise.all(
      requests.map(async (request) => {
        const generator = await this.backendSet.pick(request.backend)
        return { request, generator, key: await this.keys.keyOf(request, generator) }
      }),
    )
    for (const { request, generator, key } of planned) {
      const tracked = this.requests.begin(undefined)
      this.serve(appJob(request, generator, key), tracked, performance.now())
        .catch(() => undefined) // counted as a load failure; there is no caller to tell
        .finally(() => tracked.end())
    }
    return { keys: planned.map((p) => p.key) }
  }

  async backends(): Promise<BackendInfo[]> {
    return this.backendSet.describeAll()
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
    // Indexing every stored picture for similar-picture offers does not hold up the first answer.
    void this.store.eachEntry((key, meta) => this.similarModels.remember(key, meta))
  }

  /** Waits for writes under way and saves every index and log (on quit, and in tests). */
  async flush(): Promise<void> {
    await Promise.all([this.store.flush(), this.log.save()])
  }

  async close(): Promise<void> {
    await this.flush()
    await this.backendSet.close()
  }

  /**
   * Serves a job for a caller from outside the operation table (the Hunyuan3D-2 protocol):
   * the same tiers, single flight, progress and statistics as the app's own requests.
   */
  async run(
    job: Job,
    context: CallContext & { requestId?: string } = {},
  ): Promise<{ result: GenerateResult; bytes: Uint8Array }> {
    const started = performance.now()
    const tracked = this.requests.begin(context.requestId, context.signal)
    try {
      return await this.serve(job, tracked, started)
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
      modelUrl: this.options.addresses('model', key),
      kept: loaded.kept,
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
    const started = performance.now()
    try {
      const glb = await this.backendSet.run(job.generator, job.input, {
        key,
        signal,
        onProgress: (progress) => this.requests.progress(key, progress),
      })
      const generationMs = performance.now() - started
      const [thumbnail, phash] = await extras
      if (thumbnail) await this.store.putThumbnail(key, thumbnail)
      const meta = { ...job.meta, thumbnail: thumbnail !== undefined, ...(phash ? { phash } : {}) }
      this.similarModels.remember(key, meta)
      return { glb, generationMs, meta }
    } finally {
      this.requests.finished(key)
    }
  }

  private async findSimilar(request: ParsedGenerateRequest, generator: Generator, key: string) {
    const phash = await perceptualHash(request.image)
    return this.similarModels.find(phash, appParams(request, generator), key, (k) => this.store.has(k))
  }

  /** `reuse: "similar"`: the nearest stored model made from a near-identical picture, if any. */
  private async reuseSimilar(
    request: ParsedGenerateRequest,
    generator: Generator,
    requestedKey: string,
    requestId: string,
    started: number,
  ): Promise<GenerateResult | undefined> {
    for (const { key, distance } of await this.findSimilar(request, generator, requestedKey)) {
      const bytes = await this.store.model(key)
      const info = this.store.info(key)
      if (!bytes || !info) continue
      this.similarModels.reuses++
      this.store.touch(key)
      this.log.record({ key, bytes: bytes.byteLength, generationMs: info.generationMs })
      return {
        requestId,
        key,
        requestedKey,
        distance,
        cache: 'similar',
        tier: 'memory',
        bytes: bytes.byteLength,
        generationMs: Math.round(info.generationMs),
        servedMs: performance.now() - started,
        backend: generator.id,
        modelUrl: this.options.addresses('model', key),
        kept: true,
      }
    }
    return undefined
  }
}

function noTeamTier(): AppError {
  return new AppError('INVALID_REQUEST', 'There is no team tier: set MESHCACHE_REDIS_URL to share models with a team.')
}
