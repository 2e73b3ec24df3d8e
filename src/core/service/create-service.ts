import { join } from 'node:path'
import type { Addresses } from '../../shared/addresses'
import type { CacheLimits } from '../../shared/cache-types'
import type { LogFn } from '../app-log'
import type { AppConfig } from '../config'
import { BuiltinGenerator } from '../generation/builtin/builtin-generator'
import type { Generator } from '../generation/generator'
import { glbProblem } from '../generation/glb-check'
import { HunyuanPool } from '../generation/hunyuan/hunyuan-pool'
import { HunyuanServer } from '../generation/hunyuan/hunyuan-server'
import { FolderJobStore } from '../jobs/job-store'
import { SimilarModels } from '../similar/similar-models'
import { DiskTier } from '../storage/disk-tier'
import { SettingsStore } from '../storage/settings-store'
import { ThumbnailStore } from '../storage/thumbnail-store'
import { Backends } from './backends'
import { GpuServers } from './gpu-servers'
import { ModelService } from './model-service'
import { RequestLog } from './request-log'
import { SavedServers } from './saved-servers'
import { TieredStore } from './tiered-store'

export interface AppServiceOptions {
  config: Pick<AppConfig, 'hunyuanServers' | 'dataDir'> &
    Partial<
      Pick<
        AppConfig,
        | 'redisUrl'
        | 'redisPrefix'
        | 'sharedMaxBytes'
        | 'gpuConcurrency'
        | 'teamLockMs'
        | 'maxModelBytes'
        | 'expectedMs'
        | 'statusTimeoutMs'
      >
    >
  /** The builtin generator's worker script. */
  workerPath: string | URL
  addresses: Addresses
  /** Starting limits before any saved settings (tests). */
  limits?: Partial<CacheLimits>
  /** Generators to use instead of the configured ones (tests). */
  generators?: Generator[]
  /** The host's log (service and generator events). */
  log?: LogFn
}

/**
 * The service both hosts run: Hunyuan3D-2 first when configured, the builtin generator
 * always; memory and, with a data folder, the disk tier and saved settings. Returns once the
 * disk index is read; warming memory from disk goes on in the background.
 */
export async function createAppService(options: AppServiceOptions): Promise<ModelService> {
  const {
    dataDir,
    hunyuanServers,
    redisUrl,
    gpuConcurrency = 1,
    maxModelBytes,
    expectedMs,
    statusTimeoutMs,
  } = options.config
  // Every GPU server, however it was set up, reads its models within the same limit.
  const serverDefaults = {
    ...(maxModelBytes ? { maxModelBytes } : {}),
    ...(expectedMs ? { expectedMs } : {}),
    ...(statusTimeoutMs ? { statusTimeoutMs } : {}),
  }
  // Always a pool, empty when no server is set: one can be added in the app at any time.
  const gpus = new HunyuanPool(
    hunyuanServers.map(
      (server) =>
        new HunyuanServer({ ...serverDefaults, ...server, concurrency: gpuConcurrency, source: 'environment' }),
    ),
  )
  const gpuServers = dataDir ? join(dataDir, 'gpu-servers.json') : undefined
  const builtin = new BuiltinGenerator({ workerPath: options.workerPath })
  const generators = options.generators ?? [gpus, builtin]
  // Redis and BullMQ are loaded only in team mode: a single artist's start does not pay for them.
  const team = redisUrl
    ? await (await import('../team/team-mode')).startTeamMode(redisUrl, options.config, builtin, gpus)
    : undefined
  const settings = dataDir ? new SettingsStore(join(dataDir, 'settings.json')) : undefined
  const saved = settings ? await settings.load() : { settings: {} }
  if (saved.problem) {
    console.warn(`MeshCache: ${saved.problem}`)
    options.log?.('settings not read', { problem: saved.problem })
  }
  const { maxItems, maxBytes, diskMaxBytes, policy, similarityThreshold } = { ...options.limits, ...saved.settings }
  const models = dataDir ? join(dataDir, 'models') : undefined
  const store = new TieredStore({
    limits: { maxItems, maxBytes },
    policy,
    disk: models ? new DiskTier({ dir: models, maxBytes: diskMaxBytes, policy }) : undefined,
    shared: team?.shared,
    thumbnails: new ThumbnailStore({ dir: models ? join(models, 'thumbnails') : undefined }),
    // A model stored before its parts were checked may lie about them: dropped on first read, never served.
    problemOf: glbProblem,
    onBadModel: (key, tier, problem) => {
      console.warn(
        `MeshCache: a stored model (${key.slice(0, 12)}) was damaged (${problem}) and was removed from the ${tier} tier.`,
      )
      options.log?.('stored model removed', { key: key.slice(0, 12), tier, problem })
    },
  })
  const backends = new Backends(generators, { team: team?.scheduler, log: options.log })
  const servers = new GpuServers(
    gpus,
    gpuServers ? new SavedServers(gpuServers) : undefined,
    () => {
      backends.forget(gpus.id)
      // The team's queue for the pool is served by whichever servers the pool has now.
      void team?.scheduler.refresh()
    },
    options.log,
    serverDefaults,
  )
  for (const problem of await servers.load()) {
    console.warn(`MeshCache: ${problem}`)
    options.log?.('GPU servers not read', { problem })
  }
  const similar = new SimilarModels()
  if (similarityThreshold !== undefined) similar.threshold = similarityThreshold
  const service = new ModelService({
    store,
    backends,
    log: options.log,
    gpuServers: servers,
    addresses: options.addresses,
    settings,
    similar,
    requestLog: new RequestLog(dataDir ? join(dataDir, 'request-log.json') : undefined),
    jobStore: dataDir ? new FolderJobStore(join(dataDir, 'jobs')) : undefined,
  })
  await service.open()
  // The GPU servers (saved or configured) are probed once in the background: start-up never
  // waits on them, and the first list or request finds what is known of them.
  void backends.describeAll().catch(() => undefined)
  return service
}
