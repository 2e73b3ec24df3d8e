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
import {
  HunyuanServer,
  type HunyuanServerSettings,
  routeOf,
  type ServerIdentity,
  type ServerState,
} from './hunyuan-server'

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
  private members: HunyuanServer[]

  /** Servers by URL (with these settings) or as made; none is allowed: the builtin generator then answers. */
  constructor(urls: (string | HunyuanServer)[], settings: Partial<Omit<HunyuanServerSettings, 'url'>> = {}) {
    this.members = urls.map((url) => (typeof url === 'string' ? new HunyuanServer({ ...settings, url }) : url))
  }

  get servers(): readonly HunyuanServer[] {
    return this.members
  }

  /** Adds a server (a user set it up in the app); a URL already here is refused by the caller. */
  add(server: HunyuanServer): void {
    this.members = [...this.members, server]
  }

  /** Removes a server; its running jobs finish there. */
  /** Takes a server out of the pool; the jobs it runs end at once (see HunyuanServer.retire). */
  remove(id: string): HunyuanServer | undefined {
    const server = this.members.find((each) => each.id === id)
    this.members = this.members.filter((each) => each !== server)
    server?.retire()
    return server
  }

  /** Jobs the pool can run at once: every server's concurrency (at least one, so a job can wait its turn). */
  get slots(): number {
    return Math.max(
      1,
      this.members.reduce((sum, server) => sum + server.settings.concurrency, 0),
    )
  }

  async describe(): Promise<GeneratorDescription> {
    if (this.members.length === 0) {
      return {
        name: 'Hunyuan3D (no GPU server set up)',
        version: this.version,
        gpu: true,
        available: false,
        state: 'unreachable',
        detail: 'No GPU server is set up: add one in the settings.',
        servers: [],
      }
    }
    const servers = await Promise.all(this.members.map((server) => server.describe()))
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

  /** What decides the model on the server new requests are keyed for (its variant's fields and its model). */
  async keyParams(request: KeyRequest): Promise<Params> {
    const { identity, server, model } = await this.primary(request.model)
    const texture = request.texture ?? server.settings.texture
    return DIALECTS[identity.variant].keyParams({ ...request, texture }, identity.identity, model)
  }

  /** Whether a request that does not say is textured: the default of the server it is keyed for. */
  async textureByDefault(model?: string): Promise<boolean> {
    return (await this.primary(model)).server.settings.texture
  }

  /** The variant, identity and model requests for `model` are keyed for now (their jobs go to servers of that route). */
  async serverKind(model?: string): Promise<ServerKind> {
    const { identity, model: chosen } = await this.primary(model)
    return {
      variant: identity.variant,
      identity: identity.identity,
      model: chosen,
      route: routeOf(identity.identity, chosen),
    }
  }

  /** The first identified server's kind, without asking any server (a /health answer must never probe). */
  knownKind(): ServerKind | undefined {
    const server = this.members.find((each) => each.identity && each.model && each.lastKnown.state !== 'unreachable')
    const identity = server?.identity
    const model = server?.model
    return identity && model
      ? { variant: identity.variant, identity: identity.identity, model, route: routeOf(identity.identity, model) }
      : undefined
  }

  /** The models the servers run, in the order of the servers (each once; servers not yet identified have none yet). */
  models(): string[] {
    return [...new Set(this.members.flatMap((server) => (server.model ? [server.model] : [])))]
  }

  async generate(input: GeneratorInput, options: GenerateOptions): Promise<GeneratedModel> {
    // A server with a free slot first, then the least busy (a job for a full server waits there).
    const load = (server: HunyuanServer): number => server.running / server.settings.concurrency
    const candidates = this.members
      .filter((server) => server.lastKnown.state !== 'unreachable')
      .filter((server) => input.keyedFor === undefined || server.route === input.keyedFor)
      .sort((a, b) => load(a) - load(b))
    // A job a server accepted before a restart is collected there first.
    const resumeAt = input.remote?.resume?.url
    candidates.sort((a, b) => Number(b.url === resumeAt) - Number(a.url === resumeAt))
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

  /**
   * The first server of `model` (any model when absent) that is not known to be unreachable,
   * identified (probing when none is known yet). A server's model may be known only once it
   * has answered (upstream's default for its variant), so unidentified servers are asked too.
   */
  private async primary(model?: string): Promise<{ server: HunyuanServer; identity: ServerIdentity; model: string }> {
    const runs = (server: HunyuanServer): boolean => model === undefined || server.model === model
    const chosen = (server: HunyuanServer) =>
      server.identity && server.model && runs(server)
        ? { server, identity: server.identity, model: server.model }
        : undefined
    for (const server of this.members) {
      const found = server.lastKnown.state !== 'unreachable' ? chosen(server) : undefined
      if (found) return found
    }
    const candidates = this.members.filter((server) => !server.identity || runs(server))
    for (const server of candidates) {
      const description = await server.describe()
      const found = description.state !== 'unreachable' ? chosen(server) : undefined
      if (found) return found
    }
    // A server busy with another client's job answers once that job is done: wait for it.
    for (const server of candidates) {
      if (server.lastKnown.state !== 'busy') continue
      await server.identify(AbortSignal.timeout(server.settings.deadlineMs)).catch(() => undefined)
      const found = chosen(server)
      if (found) return found
    }
    if (model !== undefined && !this.members.some((server) => runs(server) || !server.model)) {
      const known = this.models()
      throw new AppError(
        'INVALID_REQUEST',
        `No GPU server runs the model "${model}"${known.length > 0 ? `; the servers run: ${known.join(', ')}` : ''}.`,
      )
    }
    throw new AppError(
      'BACKEND_UNAVAILABLE',
      model === undefined
        ? 'None of the Hunyuan3D servers is reachable or identified yet.'
        : `No server running "${model}" is reachable or identified yet.`,
    )
  }
}
