import type { CacheLimits } from '../shared/cache-types'
import { BuiltinGenerator } from './generation/builtin/builtin-generator'
import type { Generator } from './generation/generator'
import { HunyuanGenerator } from './generation/hunyuan/hunyuan-generator'
import { ModelService } from './service'

export interface AppServiceOptions {
  /** The builtin generator's worker script. */
  workerPath: string | URL
  /** A Hunyuan3D-2 api_server URL (MESHCACHE_HUNYUAN_URL); preferred while it is reachable. */
  hunyuanUrl?: string
  modelUrl: (key: string) => string
  limits?: Partial<CacheLimits>
}

/** The service both hosts run: Hunyuan3D-2 first when configured, the builtin generator always. */
export function createAppService(options: AppServiceOptions): ModelService {
  const generators: Generator[] = []
  if (options.hunyuanUrl) generators.push(new HunyuanGenerator({ url: options.hunyuanUrl }))
  generators.push(new BuiltinGenerator({ workerPath: options.workerPath }))
  return new ModelService({ generators, modelUrl: options.modelUrl, limits: options.limits })
}
