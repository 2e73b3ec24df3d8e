import { AppError } from '../../../shared/errors'
import type {
  GeneratedModel,
  GenerateOptions,
  Generator,
  GeneratorDescription,
  GeneratorInput,
  KeyRequest,
  ServerKind,
} from '../generator'
import { DIALECTS, type Params } from './dialects'
import { HunyuanServer, type HunyuanServerSettings, type ServerIdentity, type ServerState } from './hunyuan-server'

const STATE_ORDER: ServerState[] = ['ready', 'busy', 'unreachable']

/**
 * The configured Hunyuan3D servers as one backend (MESHCACHE_HUNYUAN_URL, a list). Requests
 * are keyed for the first server that is not unreachable (its variant decides what the key
 * covers), and each job goes to the least busy server of that same kind. A busy server keeps
 * its place: a job for it waits in the backend's queue, it never goes elsewhere silently.
 */
export class HunyuanPool implements Generator {
  readonly id = 'hunyuan3d-2'
  readonly version = '2'
  readonly acceptsTextAndMesh = true
  readonly gpu = true
  readonly servers: HunyuanServer[]

  constructor(
    urls: (string | HunyuanServer)[],
    readonly concurrencyPerServer = 1,
    settings: Partial<Omit<HunyuanServerSettings, 'url'>> = {},
  ) {
    if (urls.length === 0) throw new Error('a Hunyuan3D pool needs at least one server')
    this.servers = urls.map((url) => (typeof url === 'string' ? new HunyuanServer({ ...settings, url }) : url))
  }

  /** One server of a pool as a backend of its own (a team worker runs one server's jobs). */
  static ofServer(server: HunyuanServer, concurrency = 1): HunyuanPool {
    return new HunyuanPool([server], concurrency)
  }

  /** Jobs the pool can run at once. */
  get slots(): number {
    return this.servers.length * this.concurrencyPerServer
  }

  async describe(): Promise<GeneratorDescription> {
    const servers = await Promise.all(this.servers.map((server) => server.describe()))
    const state = STATE_ORDER.find((candidate) => servers.some((s) => s.state === candidate)) ?? 'unreachable'
    const variant = servers.find((s) => s.state !== 'unreachable' && s.variant)?.variant
    const label = `Hunyuan3D-${variant ?? '2'}`
    const name =
      servers.length === 1
        ? `${label} at ${(servers[0] as { url: string }).url}`
        : `${label} (${servers.filter((s) => s.state !== 'unreachable').length} of ${servers.length} servers reachable)`
    const detail =
      state === 'ready'
        ? undefined
        : servers.length === 1
          ? servers[0]?.detail
          : state === 'busy'
            ? 'Every Hunyuan3D server is generating; new requests wait their turn.'
            : 'None of the Hunyuan3D servers is reachable.'
    return {
      name,
      version: variant ?? this.version,
      gpu: true,
      available: state !== 'unreachable',
      state,
      ...(detail ? { detail } : {}),
      servers,
    }
  }

  /** What decides the model on the server new requests are keyed for (its variant's fields). */
  async keyParams(request: KeyRequest): Promise<Params> {
    const { identity } = await this.primary()
    return DIALECTS[identity.variant].keyParams(request, identity.identity)
  }

  /** The variant and identity requests keyed now are keyed for (their jobs go to servers of that kind). */
  async serverKind(): Promise<ServerKind> {
    const { variant, identity } = (await this.primary()).identity
    return { variant, identity }
  }

  async generate(input: GeneratorInput, options: GenerateOptions): Promise<GeneratedModel> {
    const candidates = this.servers
      .filter((server) => server.lastKnown.state !== 'unreachable')
      .filter((server) => input.keyedFor === undefined || server.identity?.identity === input.keyedFor)
      .sort((a, b) => a.running - b.running)
    let last: unknown = new AppError('BACKEND_UNAVAILABLE', 'None of the Hunyuan3D servers is reachable.')
    for (const server of candidates) {
      try {
        return await server.generate(input, options)
      } catch (error) {
        // Only a server that could not be reached passes its job on; any other failure is the job's.
        if (!(error instanceof AppError) || error.code !== 'BACKEND_UNAVAILABLE') throw error
        last = error
      }
    }
    throw last
  }

  /** The first server that is not known to be unreachable, identified (probing when none is known yet). */
  private async primary(): Promise<{ server: HunyuanServer; identity: ServerIdentity }> {
    for (const server of this.servers) {
      if (server.identity && server.lastKnown.state !== 'unreachable') return { server, identity: server.identity }
    }
    for (const server of this.servers) {
      const description = await server.describe()
      if (description.state !== 'unreachable' && server.identity) return { server, identity: server.identity }
    }
    // A server busy with another client's job answers once that job is done: wait for it.
    for (const server of this.servers) {
      if (server.lastKnown.state !== 'busy') continue
      const identity = await server.identify(AbortSignal.timeout(server.settings.deadlineMs)).catch(() => undefined)
      if (identity) return { server, identity }
    }
    throw new AppError('BACKEND_UNAVAILABLE', 'None of the Hunyuan3D servers is reachable or identified yet.')
  }
}
