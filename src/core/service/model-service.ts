import { EventEmitter } from 'node:events'
import type { Addresses } from '../../shared/addresses'
import type { GenerateResult, ServiceStats } from '../../shared/contract'
import type { CallContext, EventPayload, ParsedInput, ServiceOperations } from '../../shared/operations'
import type { ParsedGenerateRequest } from '../../shared/schemas'
import type { LogFn } from '../app-log'
import type { Generator, RemoteJob } from '../generation/generator'
import { inspectImage } from '../generation/image-input'
import type { RequestKeys } from '../generation/request-key'
import { type JobStore, MemoryJobStore } from '../jobs/job-store'
import { Jobs } from '../jobs/jobs'
import { SimilarModels } from '../similar/similar-models'
import type { SettingsStore } from '../storage/settings-store'
import type { Backends } from './backends'
import { CacheAdmin } from './cache-admin'
import { ChangeFeed } from './change-feed'
import { Generation } from './generation'
import type { GpuServers } from './gpu-servers'
import type { Job } from './job'
import { RequestLog } from './request-log'
import { ServerAdmin } from './server-admin'
import { makeThumbnail } from './thumbnail'
import type { TieredStore } from './tiered-store'

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

export type ServiceEvents = {
  progress: [EventPayload<'progress'>]
  cacheChanged: [EventPayload<'cacheChanged'>]
  jobsChanged: [EventPayload<'jobsChanged'>]
}

/**
 * What both transports serve: the operation table's answers, from the parts that do the work.
 * Generation turns requests into models through the tiers (TieredStore) and the generators
 * (Backends); Jobs keeps the queue; CacheAdmin lists, keeps, deletes and configures;
 * ServerAdmin lists and sets up GPU servers. This class only connects them, and owns their events and their lifecycle.
 */
export class ModelService implements ServiceOperations {
  readonly events = new EventEmitter<ServiceEvents>()
  readonly store: TieredStore
  /** The queue of accepted requests, kept across quits and crashes. */
  readonly queue: Jobs
  private readonly generation: Generation
  private readonly backendSet: Backends
  private readonly similarModels: SimilarModels
  private readonly log: RequestLog
  private readonly admin: CacheAdmin
  private readonly serverAdmin: ServerAdmin

  constructor(readonly options: ModelServiceOptions) {
    this.store = options.store
    this.backendSet = options.backends
    this.similarModels = options.similar ?? new SimilarModels()
    this.log = options.requestLog ?? new RequestLog()
    this.generation = new Generation({
      store: this.store,
      backends: this.backendSet,
      addresses: options.addresses,
      similar: this.similarModels,
      requestLog: this.log,
      onProgress: (event) => this.events.emit('progress', event),
      log: options.log,
    })
    this.admin = new CacheAdmin(this.store, this.similarModels, options.addresses, this.log, options.settings)
    this.serverAdmin = new ServerAdmin(this.backendSet, options.gpuServers)
    const changes = new ChangeFeed((event) => this.events.emit('cacheChanged', event))
    this.store.onChange = (reason) => changes.changed(reason)
    this.queue = new Jobs({
      store: options.jobStore ?? new MemoryJobStore(),
      generate: (request, context) => this.generate(request, context),
      inspect: inspectImage,
      cached: (request) => this.generation.isCached(request),
      smallPicture: makeThumbnail,
      addresses: options.addresses,
      emit: (event) => this.events.emit('jobsChanged', event),
      log: options.log,
    })
    this.events.on('progress', (event) => this.queue.onProgress(event))
  }

  generate(asked: ParsedGenerateRequest, context: CallContext & { remote?: RemoteJob } = {}): Promise<GenerateResult> {
    return this.generation.generate(asked, context)
  }

  similar(asked: ParsedGenerateRequest) {
    return this.generation.similar(asked)
  }

  cancel(input: ParsedInput<'cancel'>) {
    return this.generation.cancel(input)
  }

  warm(input: ParsedInput<'warm'>) {
    return this.generation.warm(input)
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

  retryJob({ id, backend }: ParsedInput<'retryJob'>) {
    return this.queue.retry(id, backend)
  }

  clearJobs() {
    return this.queue.clear()
  }

  async stats(): Promise<ServiceStats> {
    return { ...this.store.stats(), ...this.generation.counts() }
  }

  entries(query: ParsedInput<'entries'>) {
    return this.admin.entries(query)
  }

  deleteEntry(input: ParsedInput<'deleteEntry'>) {
    return this.admin.deleteEntry(input)
  }

  keepEntry(input: ParsedInput<'keepEntry'>) {
    return this.admin.keepEntry(input)
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

  backends() {
    return this.serverAdmin.list()
  }

  addBackend(input: ParsedInput<'addBackend'>) {
    return this.serverAdmin.add(input)
  }

  removeBackend(input: ParsedInput<'removeBackend'>) {
    return this.serverAdmin.remove(input)
  }

  setBackendModel(input: ParsedInput<'setBackendModel'>) {
    return this.serverAdmin.setModel(input)
  }

  testBackend(input: ParsedInput<'testBackend'>) {
    return this.serverAdmin.test(input)
  }

  /** The GPU servers set up in the app (the desktop shell attaches its local server here). */
  get servers(): GpuServers | undefined {
    return this.serverAdmin.servers
  }

  model(key: string): Promise<Uint8Array | undefined> {
    return this.store.model(key)
  }

  thumbnail(key: string): Promise<Uint8Array | undefined> {
    return this.store.thumbnail(key)
  }

  /** A queued job's picture, small, for the list. */
  picture(id: string): Promise<Uint8Array | undefined> {
    return this.queue.picture(id)
  }

  /**
   * Serves a job for a caller from outside the operation table (the Hunyuan3D-2 protocol):
   * the same tiers, single flight, progress and statistics as the app's own requests.
   */
  run(job: Job, context: CallContext & { requestId?: string } = {}) {
    return this.generation.run(job, context)
  }

  /** The pixel digests (shared with other ways of keying requests, so a picture is decoded once). */
  get digester(): RequestKeys['digester'] {
    return this.generation.digester
  }

  /** The named backend, or the one new requests use (the first available in order of preference). */
  pickBackend(id?: string): Promise<Generator> {
    return this.backendSet.pick(id)
  }

  /** The backend new requests likely use, from what is known already: never asks a server. */
  knownBackend(): Generator {
    const { generators } = this.backendSet
    return generators.find((g) => g.knownKind?.()) ?? generators.find((g) => !g.gpu) ?? (generators[0] as Generator)
  }

  /** Opens the tiers, the request log and the queue (which resumes); indexes stored pictures for similar-picture lookups. */
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
}
