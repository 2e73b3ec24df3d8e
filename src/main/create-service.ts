import { join } from 'node:path'
import type { CacheLimits } from '../shared/cache-types'
import { BuiltinGenerator } from './generation/builtin/builtin-generator'
import type { Generator } from './generation/generator'
import { HunyuanGenerator } from './generation/hunyuan/hunyuan-generator'
import { ModelService } from './service'
import { DiskTier } from './storage/disk-tier'

export interface AppServiceOptions {
  /** The builtin generator's worker script. */
  workerPath: string | URL
  /** A Hunyuan3D-2 api_server URL (MESHCACHE_HUNYUAN_URL); preferred while it is reachable. */
  hunyuanUrl?: string
  modelUrl: (key: string) => string
  limits?: Partial<CacheLimits>
  /** Where the disk tier keeps models (Electron's userData, or MESHCACHE_DATA_DIR); memory only without. */
  dataDir?: string
  diskMaxBytes?: number
}

/**
 * The service both hosts run: Hunyuan3D-2 first when configured, the builtin generator always,
 * and a disk tier under the data folder. Opened and warmed from disk before it is returned.
 */
export async function createAppService(options: AppServiceOptions): Promise<ModelService> {
  const generators: Generator[] = []
  if (options.hunyuanUrl) generators.push(new HunyuanGenerator({ url: options.hunyuanUrl }))
  generators.push(new BuiltinGenerator({ workerPath: options.workerPath }))
  const disk = options.dataDir
    ? new DiskTier({ dir: join(options.dataDir, 'models'), maxBytes: options.diskMaxBytes })
    : undefined
  const service = new ModelService({ generators, modelUrl: options.modelUrl, limits: options.limits, disk })
  await service.init()
  return service
}
