import { type Addresses, shortKey } from '../../shared/addresses'
import type { GenerateResult, ProgressEvent, SimilarResult } from '../../shared/contract'
import { CancelledError, isAbortError, toErrorPayload } from '../../shared/errors'
import type { CallContext, ParsedInput } from '../../shared/operations'
import type { ParsedGenerateRequest } from '../../shared/schemas'
import type { LogFn } from '../app-log'
import type { Generator, RemoteJob } from '../generation/generator'
import { DIALECTS } from '../generation/hunyuan/dialects'
import { ParkedPicture } from '../generation/parked-picture'
import { RequestKeys } from '../generation/request-key'
import { pictureSignature } from '../similar/perceptual-hash'
import type { SimilarModels } from '../similar/similar-models'
import type { Backends } from './backends'
import { appJob, type Job, type Keyed, type TexturedRequest } from './job'
import type { RequestLog } from './request-log'
import { RequestTracker, type TrackedRequest } from './request-tracker'
import { ShapeReuse } from './shape-reuse'
import { SimilarOffers } from './similar-offers'
import { makeThumbnail } from './thumbnail'
import type { Generated, TieredStore } from './tiered-store'

export interface GenerationOptions {
  store: TieredStore
  backends: Backends
  addresses: Addresses
  similar: SimilarModels
  requestLog: RequestLog
  /** Every request's progress, named by its request id. */
  onProgress(event: ProgressEvent): void
  log?: LogFn
}

/** A request with `texture` decided: as asked, else the generator's default. */
async function withTexture(request: ParsedGenerateRequest, generator: Generator): Promise<TexturedRequest> {
  return { ...request, texture: request.texture ?? (await generator.textureByDefault?.(request.model)) ?? false }
}

/**
 * The way from a request to a model: its key, the tiers, and (for what no tier holds) the
 * generators, with one generation per key however many ask, progress to every request waiting
 * on it, and cancellation by request id. Similar pictures and shape reuse sit on this path.
 */
export class Generation {
  private readonly keys = new RequestKeys()
  private readonly requests: RequestTracker
  private readonly offers: SimilarOffers
  private readonly shapes: ShapeReuse
  private readonly store: TieredStore
  private readonly backendSet: Backends
  private readonly similarModels: SimilarModels
  private readonly log: RequestLog
  /** Jobs whose generation began with a parked picture: their produce discards it. */
  private readonly producing = new WeakSet<Job>()

  constructor(private readonly options: GenerationOptions) {
    this.store = options.store
    this.backendSet = options.backends
    this.similarModels = options.similar
    this.log = options.requestLog
    this.requests = new RequestTracker(options.onProgress)
    this.offers = new SimilarOffers(this.similarModels, this.store, options.addresses, this.log)
    this.shapes = new ShapeReuse(this.store)
  }

  /** A request from the app (the form, the API, a queued job's `remote` hooks): its model, from a tier or made. */
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
      // A picture that would wait for its generator waits on disk (produce reads it back).
      if (job.picture && !this.store.has(job.key) && this.backendSet.wouldWait(generator)) {
        job.parked = await ParkedPicture.park(job.picture)
      }
      try {
        const { result } = await this.serve(job, tracked, started)
        return fallback && result.tier === 'generator' ? { ...result, fallback } : result
      } finally {
        // Produce discards a parked picture it took; one it never took (a hit, a joined
        // generation, a cancel before it began) goes here.
        if (job.parked && !this.producing.has(job)) void job.parked.discard()
      }
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

  /**
   * Whether a tier holds the request's model now: only for a picture digested before (a
   * picture never seen cannot be cached), so nothing is decoded here.
   */
  async isCached(asked: ParsedGenerateRequest): Promise<boolean> {
    const pixels = this.keys.digester.known(asked.image)
    if (pixels === undefined) return false
    const generator = await this.backendSet.pick(asked.backend, asked.model)
    return this.store.has(await this.keys.keyOfDigested(pixels, await withTexture(asked, generator), generator))
  }

  /** What the similar-picture offers and shape reuse counted, for the statistics. */
  counts() {
    return {
      similarOffers: this.similarModels.offers,
      similarReuses: this.similarModels.reuses,
      shapeReuses: this.shapes.reuses,
      shapeSavedMs: Math.round(this.shapes.savedMs),
    }
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
      stored: loaded.stored,
      ...(loaded.tier === 'generator' && this.shapes.reused(key) ? { shapeReused: true } : {}),
    }
    return { result, bytes: loaded.bytes }
  }

  /**
   * Runs the generation itself; the thumbnail and perceptual hash are made beside it (for a
   * picture that waited on disk, once it is read back for the generator).
   */
  private async produce(job: Job, signal: AbortSignal): Promise<Generated> {
    const { key, parked } = job
    if (parked) this.producing.add(job)
    let extras: Promise<[Uint8Array | undefined, string | undefined]> = Promise.resolve([undefined, undefined])
    const makeExtras = (picture: Uint8Array): void => {
      extras = Promise.all([makeThumbnail(picture), pictureSignature(picture).catch(() => undefined)])
    }
    if (job.picture && !parked) makeExtras(job.picture)
    const input = { ...job.input, ...(await this.shapes.meshFor(job)) }
    const started = performance.now()
    try {
      const glb = await this.backendSet.run(job.generator, input, {
        key,
        signal,
        onProgress: (progress) => this.requests.progress(key, progress),
        ...(parked
          ? {
              picture: async () => {
                const picture = await parked.read()
                makeExtras(picture)
                return picture
              },
            }
          : {}),
      })
      const generationMs = performance.now() - started
      this.options.log?.('generated', {
        key: shortKey(key),
        backend: job.generator.id,
        ms: Math.round(generationMs),
        bytes: glb.byteLength,
        ...(input.mesh ? { shapeReused: true } : {}),
      })
      const [thumbnail, phashes] = await extras
      const meta = { ...job.meta, thumbnail: thumbnail !== undefined, ...(phashes ? { phashes } : {}) }
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
      if (parked) void parked.discard()
    }
  }
}
