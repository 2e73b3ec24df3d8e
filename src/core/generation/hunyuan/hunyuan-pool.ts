import type { Quality } from '../../../shared/contract'
import { AppError } from '../../../shared/errors'
import type { GeneratedModel, GenerateOptions, Generator, GeneratorDescription, GeneratorInput } from '../generator'
import { HunyuanGenerator, type HunyuanSettings } from './hunyuan-generator'

/**
 * Several Hunyuan3D-2 servers as one backend (MESHCACHE_HUNYUAN_URL with a list): each job
 * goes to the least busy server that answers; an unreachable one is skipped until it answers
 * again. The backend's queue lets as many jobs run as there are server slots.
 */
export class HunyuanPool implements Generator {
  readonly id = 'hunyuan3d-2'
  readonly version = '2'
  readonly acceptsTextAndMesh = true
  readonly servers: HunyuanGenerator[]
  private readonly busy = new Map<HunyuanGenerator, number>()

  constructor(
    urls: string[],
    readonly concurrencyPerServer = 1,
    settings: Partial<Omit<HunyuanSettings, 'url'>> = {},
  ) {
    if (urls.length === 0) throw new Error('a Hunyuan3D-2 pool needs at least one server')
    this.servers = urls.map((url) => new HunyuanGenerator({ ...settings, url }))
  }

  /** Jobs the pool can run at once. */
  get slots(): number {
    return this.servers.length * this.concurrencyPerServer
  }

  identity(quality: Quality): Record<string, string | number | boolean> {
    return (this.servers[0] as HunyuanGenerator).identity(quality)
  }

  async describe(): Promise<GeneratorDescription> {
    const answers = await Promise.all(this.servers.map((server) => server.describe()))
    const up = answers.filter((answer) => answer.available).length
    const base = {
      name: `Hunyuan3D-2 (${up} of ${this.servers.length} server${this.servers.length === 1 ? '' : 's'} reachable)`,
      version: this.version,
      gpu: true,
    }
    if (this.servers.length === 1) return answers[0] as GeneratorDescription
    return up > 0
      ? { ...base, available: true }
      : { ...base, available: false, detail: 'None of the Hunyuan3D-2 servers is reachable.' }
  }

  async generate(input: GeneratorInput, options: GenerateOptions): Promise<GeneratedModel> {
    const candidates = [...this.servers].sort((a, b) => (this.busy.get(a) ?? 0) - (this.busy.get(b) ?? 0))
    for (const server of candidates) {
      if ((this.busy.get(server) ?? 0) >= this.concurrencyPerServer) continue
      if (!(await server.describe()).available) continue
      this.busy.set(server, (this.busy.get(server) ?? 0) + 1)
      try {
        return await server.generate(input, options)
      } finally {
        this.busy.set(server, (this.busy.get(server) ?? 1) - 1)
      }
    }
    throw new AppError('BACKEND_UNAVAILABLE', 'None of the Hunyuan3D-2 servers is reachable or free.')
  }
}
