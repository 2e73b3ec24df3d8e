import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import sharp from 'sharp'
import type { z } from 'zod'
import type { CacheLimits, EntryMeta, RemovalReason } from '../shared/cache-types'
import type {
  BackendInfo,
  CacheChangedEvent,
  CacheConfig,
  ClearResult,
  EntriesPage,
  EntryInfo,
  GenerateResult,
  ProgressEvent,
  ServiceStats,
  WarmResult,
} from '../shared/contract'
import { AppError } from '../shared/errors'
import {
  cacheConfigPatchSchema,
  clearScopeSchema,
  describeIssues,
  entriesQuerySchema,
  generateRequestSchema,
  keySchema,
  type ParsedGenerateRequest,
  requestIdSchema,
  warmRequestSchema,
} from '../shared/schemas'
import { isAbortError, LruCache } from './cache'
import type { GenerateProgress, Generator, GeneratorDescription, GeneratorInput } from './generation/generator'
import { assertGlb } from './generation/glb-check'
import { SHARP_INPUT } from './generation/image-input'
import { JobQueue } from './generation/job-queue'
import { normalizePrompt, PixelDigester, requestKey } from './generation/request-key'
import type { DiskTier } from './storage/disk-tier'

export interface ModelServiceOptions {
  /** In order of preference: the first available one is the default backend. */
  generators: Generator[]
  limits?: Partial<CacheLimits>
  /** How a transport addresses a stored model (meshcache:// in Electron, /models/ over HTTP). */
  modelUrl: (key: string) => string
  /** How long a backend's availability answer is trusted. */
  availabilityTtlMs?: number
  /** The persistent tier; memory only without it. Call `init()` before use. */
  disk?: DiskTier
}

interface ServiceEvents {
  progress: [ProgressEvent]
  'cache-changed': [CacheChangedEvent]
}

const CHANGE_REASON: Record<RemovalReason, CacheChangedEvent['reason']> = {
  maxItems: 'evicted',
  maxBytes: 'evicted',
  replaced: 'replaced',
  deleted: 'deleted',
  cleared: 'cleared',
}

function parse<T extends z.ZodType>(schema: T, payload: unknown): z.output<T> {
  const result = schema.safeParse(payload)
  if (!result.success) throw new AppError('INVALID_REQUEST', describeIssues(result.error))
  return result.data
}

/**
 * Everything the app does, with no Electron import: request keys, the model cache, one job
 * queue per backend, progress and cache-change events. Both transports (Electron IPC and the
 * HTTP host) are thin adapters over this class.
 */
export class ModelService {
  readonly events = new EventEmitter<ServiceEvents>()
  private readonly cache: LruCache<Uint8Array>
  private readonly generators: Generator[]
  private readonly queues = new Map<string, JobQueue>()
  private readonly digester = new PixelDigester()
  /** Requests waiting on each key, so a generation's progress reaches every one of them. */
  private readonly watchers = new Map<string, Set<string>>()
  private readonly lastProgress = new Map<string, GenerateProgress & { position?: number }>()
  private readonly requests = new Map<string, AbortController>()
  private readonly availability = new Map<string, { at: number; description: GeneratorDescription }>()
  private pendingChange: CacheChangedEvent['reason'] | undefined
  private readonly disk: DiskTier | undefined
  /** Disk writes under way, so `flush()` can wait for them. */
  private readonly diskWrites = new Set<Promise<unknown>>()

  constructor(private readonly options: ModelServiceOptions) {
    if (options.generators.length === 0) throw new Error('ModelService needs at least one generator')
    this.generators = options.generators
    this.cache = new LruCache<Uint8Array>({
      ...options.limits,
      onEvict: (_key, _entry, reason) => this.changed(CHANGE_REASON[reason]),
    })
    for (const generator of this.generators) this.queues.set(generator.id, new JobQueue())
    this.disk = options.disk
  }

  /**
   * Opens the disk tier and warms the memory tier with its most recently used models, as
   * many as fit the memory limits.
   */
  async init(): Promise<void> {
    if (!this.disk) return
    await this.disk.open()
    const { maxItems, maxBytes } = this.cache.getLimits()
    const chosen: { key: string; meta: EntryMeta; generationMs: number }[] = []
    let bytes = 0
    for (const record of this.disk.recent()) {
      if (chosen.length >= maxItems || bytes + record.bytes > maxBytes) break
      bytes += record.bytes
      chosen.push(record)
    }
    // Least recent first, so the memory tier ends up in the same recency order as the disk.
    for (const record of chosen.reverse()) {
      const stored = await this.disk.read(record.key, { use: false })
      if (stored) this.cache.set(record.key, stored.bytes, { meta: record.meta, generationMs: record.generationMs })
    }
    this.changed('stored')
  }

  /** Waits for disk writes under way and writes the disk index (on quit, and in tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.diskWrites])
    await this.disk?.flush()
  }

  async generate(payload: unknown, options: { signal?: AbortSignal } = {}): Promise<GenerateResult> {
    const started = performance.now()
    const request = parse(generateRequestSchema, payload)
    const requestId = request.requestId ?? randomUUID()
    if (this.requests.has(requestId)) throw new AppError('INVALID_REQUEST', 'That request id is already in use.')
    const controller = new AbortController()
    const onOuterAbort = (): void => controller.abort()
    options.signal?.addEventListener('abort', onOuterAbort, { once: true })
    this.requests.set(requestId, controller)
    let key: string | undefined
    try {
      const generator = await this.pickGenerator(request.backend)
      key = await this.keyOf(request, generator)
      this.watch(key, requestId)
      const input: GeneratorInput = {
        image: request.image,
        prompt: request.prompt,
        quality: request.quality,
        seed: request.seed,
      }
      const jobKey = key
      let fromDisk = false
      const loaded = await this.cache.getOrCompute(
        jobKey,
        async (signal, control) => {
          const stored = await this.disk?.read(jobKey)
          if (stored) {
            fromDisk = true
            control.reportGenerationMs(stored.record.generationMs)
            control.reportMeta(stored.record.meta)
            return stored.bytes
          }
          // The thumbnail is made beside the generation, and only when there is one.
          const meta = this.metaOf(request, generator.id)
          const generationStarted = performance.now()
          const glb = await this.runJob(jobKey, generator, input, signal)
          // The generation itself (not the disk lookup before it) is what a later hit saves.
          const generationMs = performance.now() - generationStarted
          control.reportGenerationMs(generationMs)
          control.reportMeta(await meta)
          this.persist(jobKey, glb, generationMs, await meta)
          return glb
        },
        { signal: controller.signal },
      )
      if (loaded.outcome === 'hit') this.disk?.touch(key)
      this.changed(loaded.outcome === 'miss' ? 'stored' : 'accessed')
      const served = fromDisk && loaded.outcome === 'miss'
      return {
        requestId,
        key,
        cache: served ? 'hit' : loaded.outcome,
        tier: loaded.outcome === 'hit' ? 'memory' : served ? 'disk' : 'generator',
        bytes: loaded.value.byteLength,
        generationMs: Math.round(loaded.generationMs),
        servedMs: performance.now() - started,
        backend: generator.id,
        modelUrl: this.options.modelUrl(key),
      }
    } catch (error) {
      if (isAbortError(error) || controller.signal.aborted) throw new AppError('CANCELLED', 'Generation was cancelled.')
      throw error
    } finally {
      options.signal?.removeEventListener('abort', onOuterAbort)
      this.requests.delete(requestId)
      if (key) this.unwatch(key, requestId)
    }
  }

  /** Stops waiting for a request; its generation stops too when no other request waits for it. */
  cancel(requestId: unknown): boolean {
    const id = parse(requestIdSchema, requestId)
    const controller = this.requests.get(id)
    if (!controller) return false
    controller.abort()
    return true
  }

  /** The GLB bytes of a stored model, from memory or else from disk (then kept in memory). */
  async model(key: unknown): Promise<Uint8Array | undefined> {
    const id = parse(keySchema, key)
    const inMemory = this.cache.peek(id)
    if (inMemory || !this.disk) return inMemory
    const stored = await this.disk.read(id)
    if (!stored) return undefined
    this.cache.set(id, stored.bytes, { meta: stored.record.meta, generationMs: stored.record.generationMs })
    this.changed('stored')
    return stored.bytes
  }

  stats(): ServiceStats {
    return { ...this.cache.stats(), disk: this.disk ? this.disk.stats() : null }
  }

  /** Entries of both tiers: every memory entry, then those on disk only. */
  entries(query: unknown = {}): EntriesPage {
    const { offset, limit, sort, order } = parse(entriesQuerySchema, query ?? {})
    const sign = order === 'asc' ? 1 : -1
    const memory: EntryInfo[] = this.cache.entries().map((e) => ({ ...e, tier: 'memory' }))
    const inMemory = new Set(memory.map((e) => e.key))
    const diskOnly: EntryInfo[] = (this.disk?.entries() ?? [])
      .filter((e) => !inMemory.has(e.key))
      .map(({ file: _file, ...e }) => ({ ...e, tier: 'disk' }))
    const value = (entry: EntryInfo): string | number =>
      sort === 'prompt' ? String(entry.meta.prompt ?? '') : entry[sort]
    // Both lists are most-recent first; the stable sort keeps that order among equals.
    const all = [...memory, ...diskOnly].sort((a, b) => {
      const x = value(a)
      const y = value(b)
      return x < y ? -sign : x > y ? sign : 0
    })
    return { total: all.length, offset, items: all.slice(offset, offset + limit) }
  }

  /** Removes a model from both tiers. */
  deleteEntry(key: unknown): boolean {
    const id = parse(keySchema, key)
    const fromMemory = this.cache.delete(id)
    const fromDisk = this.disk?.delete(id) ?? false
    if (fromDisk && !fromMemory) this.changed('deleted')
    return fromMemory || fromDisk
  }

  /** 'memory' empties the memory tier only (models stay on disk); 'all' empties both. */
  clear(scope: unknown = 'all'): ClearResult {
    const which = parse(clearScopeSchema, scope ?? 'all')
    const removed = this.cache.size
    this.cache.clear()
    const removedFromDisk = which === 'all' && this.disk ? this.disk.clear() : 0
    this.changed('cleared')
    return { removed, removedFromDisk }
  }

  getConfig(): CacheConfig {
    return { ...this.cache.getLimits(), diskMaxBytes: this.disk ? this.disk.stats().maxBytes : null }
  }

  setConfig(patch: unknown): CacheConfig {
    const { diskMaxBytes, ...limits } = parse(cacheConfigPatchSchema, patch)
    if (diskMaxBytes !== undefined && !this.disk) {
      throw new AppError('INVALID_REQUEST', 'There is no disk tier to limit: it is off or its folder is unusable.')
    }
    if (limits.maxItems !== undefined || limits.maxBytes !== undefined) this.cache.setLimits(limits)
    if (diskMaxBytes !== undefined) this.disk?.setMaxBytes(diskMaxBytes)
    this.changed('limits')
    return this.getConfig()
  }

  /**
   * Validates and keys every request first (a bad one refuses the whole batch and changes
   * nothing), then generates them in the background through the same cache and queues.
   */
  async warm(payload: unknown): Promise<WarmResult> {
    const requests = parse(warmRequestSchema, payload)
    const planned = await Promise.all(
      requests.map(async (request) => {
        const generator = await this.pickGenerator(request.backend)
        return { request, key: await this.keyOf(request, generator), backend: generator.id }
      }),
    )
    for (const { request, backend } of planned) {
      const { requestId: _ignored, ...rest } = request
      this.generate({ ...rest, backend, requestId: `warm-${randomUUID()}` }).catch(() => {
        // Counted as a load failure in the statistics; there is no caller to tell.
      })
    }
    return { keys: planned.map((p) => p.key) }
  }

  async backends(): Promise<BackendInfo[]> {
    const defaultId = (await this.defaultGenerator()).id
    return Promise.all(
      this.generators.map(async (generator) => ({
        id: generator.id,
        ...(await this.describe(generator, true)),
        isDefault: generator.id === defaultId,
      })),
    )
  }

  /** Keeps a copy on disk in the background; a failure is reported in the disk statistics only. */
  private persist(key: string, glb: Uint8Array, generationMs: number, meta: EntryMeta): void {
    if (!this.disk) return
    const write = this.disk.write(key, glb, { generationMs, meta }).finally(() => {
      this.diskWrites.delete(write)
      this.changed('stored')
    })
    this.diskWrites.add(write)
  }

  private async keyOf(request: ParsedGenerateRequest, generator: Generator): Promise<string> {
    const pixels = await this.digester.digest(request.image)
    return requestKey({
      pixels,
      prompt: request.prompt,
      quality: request.quality,
      seed: request.seed,
      backend: generator.id,
      identity: generator.identity(request.quality),
      format: 'glb',
    })
  }

  private async metaOf(request: ParsedGenerateRequest, backend: string): Promise<EntryMeta> {
    const meta = { prompt: normalizePrompt(request.prompt), quality: request.quality, seed: request.seed, backend }
    try {
      const thumbnail = await sharp(request.image, SHARP_INPUT)
        .autoOrient()
        .resize(64, 64, { fit: 'inside' })
        .webp({ quality: 70 })
        .toBuffer()
      return { ...meta, thumbnail: `data:image/webp;base64,${thumbnail.toString('base64')}` }
    } catch {
      // The picture was already validated; a thumbnail is a nicety, never a reason to fail.
      return meta
    }
  }

  private async runJob(
    key: string,
    generator: Generator,
    input: GeneratorInput,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const queue = this.queues.get(generator.id) as JobQueue
    try {
      const model = await queue.run(
        () => generator.generate(input, { signal, onProgress: (progress) => this.progress(key, progress) }),
        { signal, onPosition: (position) => this.progress(key, { stage: 'queued', fraction: 0, position }) },
      )
      assertGlb(model.glb, 'The generator')
      return model.glb
    } finally {
      this.lastProgress.delete(key)
    }
  }

  private async pickGenerator(id: string | undefined): Promise<Generator> {
    if (id === undefined) return this.defaultGenerator()
    const generator = this.generators.find((g) => g.id === id)
    if (!generator) {
      throw new AppError(
        'INVALID_REQUEST',
        `Unknown backend "${id}"; choose one of: ${this.generators.map((g) => g.id).join(', ')}.`,
      )
    }
    const description = await this.describe(generator, false)
    if (!description.available)
      throw new AppError('BACKEND_UNAVAILABLE', description.detail ?? `${generator.id} is unavailable.`)
    return generator
  }

  /** The first available generator in order of preference; the last one is the fallback. */
  private async defaultGenerator(): Promise<Generator> {
    for (const generator of this.generators) {
      if ((await this.describe(generator, false)).available) return generator
    }
    return this.generators[this.generators.length - 1] as Generator
  }

  private async describe(generator: Generator, fresh: boolean): Promise<GeneratorDescription> {
    const ttl = this.options.availabilityTtlMs ?? 30_000
    const known = this.availability.get(generator.id)
    if (!fresh && known && Date.now() - known.at < ttl) return known.description
    const description = await generator.describe()
    this.availability.set(generator.id, { at: Date.now(), description })
    return description
  }

  private watch(key: string, requestId: string): void {
    const set = this.watchers.get(key) ?? new Set<string>()
    this.watchers.set(key, set)
    set.add(requestId)
    // A request that joins a running generation sees where it stands straight away.
    const last = this.lastProgress.get(key)
    if (last) this.events.emit('progress', { requestId, ...last })
  }

  private unwatch(key: string, requestId: string): void {
    const set = this.watchers.get(key)
    set?.delete(requestId)
    if (set?.size === 0) this.watchers.delete(key)
  }

  private progress(key: string, progress: GenerateProgress & { position?: number }): void {
    this.lastProgress.set(key, progress)
    for (const requestId of this.watchers.get(key) ?? []) this.events.emit('progress', { requestId, ...progress })
  }

  /** Coalesces the changes of one synchronous job into a single event. */
  private changed(reason: CacheChangedEvent['reason']): void {
    if (this.pendingChange === undefined) {
      queueMicrotask(() => {
        const pending = this.pendingChange
        this.pendingChange = undefined
        if (pending) this.events.emit('cache-changed', { reason: pending })
      })
    }
    this.pendingChange = reason
  }
}
