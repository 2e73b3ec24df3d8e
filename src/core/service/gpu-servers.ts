import type { BackendTestResult, ServerSource } from '../../shared/contract'
import { AppError } from '../../shared/errors'
import type { ParsedInput } from '../../shared/operations'
import type { LogFn } from '../app-log'
import type { HunyuanPool } from '../generation/hunyuan/hunyuan-pool'
import { gpuServerId, HunyuanServer, type HunyuanServerSettings } from '../generation/hunyuan/hunyuan-server'
import { serverAddressKey } from '../generation/hunyuan/server-address'
import { MAX_GPU_SERVERS, type SavedServers } from './saved-servers'

/** How long a test of a new server may take before it counts as not answering. */
export const SERVER_TEST_TIMEOUT_MS = 5_000

/**
 * The GPU servers of the pool that a user manages in the app: added by URL (tested first,
 * and saved only when it answers as a Hunyuan3D api_server), removed by id, kept in
 * `gpu-servers.json` so a restart keeps them. Servers from MESHCACHE_HUNYUAN_URL are listed
 * beside them and cannot be removed here.
 */
export class GpuServers {
  /** What could not be read of the saved list, in words (the GPU servers panel shows it). */
  problems: string[] = []
  /** Adds one after another: a check and its insert are never split by another add. */
  private adding: Promise<unknown> = Promise.resolve()
  private readonly addresses = new WeakMap<HunyuanServer, Promise<string>>()

  constructor(
    private readonly pool: HunyuanPool,
    private readonly file: SavedServers | undefined,
    /** Told when the pool changed, so the next request asks the servers afresh. */
    private readonly changed: () => void,
    private readonly log?: LogFn,
    /** Settings every server added here starts from (tests poll faster than people need). */
    private readonly defaults: Partial<HunyuanServerSettings> = {},
  ) {}

  /** Adds the saved servers to the pool (after those from the environment); says what could not be read. */
  async load(): Promise<string[]> {
    const { servers, problems } = (await this.file?.load()) ?? { servers: [], problems: [] }
    this.problems = problems
    let added = 0
    // No name is resolved here: start-up never waits on the network (adds check addresses).
    for (const saved of servers) {
      if (this.pool.servers.some((server) => server.url === saved.url)) continue
      this.pool.add(new HunyuanServer({ ...this.defaults, ...saved, source: 'settings' }))
      added++
    }
    if (added > 0) this.changed()
    return problems
  }

  /** Probes a URL without saving anything: its variant, reachable or busy, and the round trip. */
  async test({ url }: ParsedInput<'testBackend'>): Promise<BackendTestResult> {
    const server = new HunyuanServer({ ...this.defaults, url, probeTimeoutMs: SERVER_TEST_TIMEOUT_MS })
    const started = performance.now()
    const description = await server.describe()
    const roundTripMs = Math.round(performance.now() - started)
    const identified = server.identity !== undefined
    return {
      url,
      ok: identified,
      state: description.state,
      ...(description.variant ? { variant: description.variant } : {}),
      ...(identified ? { roundTripMs } : {}),
      ...(description.detail ? { detail: description.detail } : {}),
      ...(server.model ? { defaultModel: server.model } : {}),
    }
  }

  /** Adds a server that answers as an api_server, running `model` (absent: upstream's default for its variant). */
  add(input: ParsedInput<'addBackend'>): Promise<void> {
    const added = this.adding.then(() => this.addNow(input))
    this.adding = added.catch(() => undefined)
    return added
  }

  private async addNow({ url, concurrency, texture, model }: ParsedInput<'addBackend'>): Promise<void> {
    const same = await this.sameServer(url)
    if (same) {
      const spelled = same.url === url ? '' : ` (as ${same.url})`
      throw new AppError('INVALID_REQUEST', `${url} is already set up${spelled}.`)
    }
    if (this.pool.servers.length >= MAX_GPU_SERVERS) {
      throw new AppError('INVALID_REQUEST', `At most ${MAX_GPU_SERVERS} GPU servers can be set up; remove one first.`)
    }
    const test = await this.test({ url })
    if (!test.ok) {
      const why =
        test.state === 'busy'
          ? 'it did not answer in time (it may be generating; try again when it is free)'
          : (test.detail ?? 'it is not reachable')
      throw new AppError('BACKEND_UNAVAILABLE', `${url} was not added: ${why}. Nothing was saved.`)
    }
    // Unnamed, it runs upstream's default for the variant that answers (shown, so the user can correct it).
    this.pool.add(
      new HunyuanServer({
        ...this.defaults,
        url,
        concurrency,
        texture,
        source: 'settings',
        ...(model ? { model } : {}),
      }),
    )
    await this.save()
    this.log?.('GPU server added', {
      url,
      variant: test.variant,
      concurrency,
      texture,
      model: model ?? test.defaultModel,
    })
    this.changed()
  }

  async remove({ id }: ParsedInput<'removeBackend'>): Promise<void> {
    const server = this.managed(id, 'remove it')
    this.pool.remove(id)
    await this.save()
    this.log?.('GPU server removed', { url: server.url })
    this.changed()
  }

  /**
   * Names the weights a server runs now: new requests to it are keyed anew (a miss, then its
   * own models); the models made before stay in the cache under their own model's keys.
   */
  async setModel({ id, model }: ParsedInput<'setBackendModel'>): Promise<void> {
    const server = this.managed(id, 'name its model there')
    const before = server.model
    server.setModel(model)
    await this.save()
    this.log?.('GPU server model set', { url: server.url, model, before })
    this.changed()
  }

  /** A server set up in the app, which the app may change; the others are changed where they were set. */
  private managed(id: string, change: string): HunyuanServer {
    const server = this.pool.servers.find((each) => each.id === id)
    if (!server) throw new AppError('NOT_FOUND', 'No GPU server has that id.')
    const source: ServerSource = server.settings.source
    if (source !== 'settings') {
      throw new AppError(
        'INVALID_REQUEST',
        source === 'environment'
          ? `${server.url} comes from MESHCACHE_HUNYUAN_URL; change that variable to ${change}.`
          : `${server.url} is the server MeshCache starts itself; change it in the local server settings.`,
      )
    }
    return server
  }

  /** Adds a server the app manages itself (the local server), not saved with the user's list. */
  attach(server: HunyuanServer): void {
    if (this.pool.servers.some((each) => each.id === server.id)) return
    this.pool.add(server)
    this.changed()
  }

  detach(url: string): void {
    this.pool.remove(gpuServerId(url))
    this.changed()
  }

  /** The server of the pool at the same address and port as `url`, however either is spelled. */
  private async sameServer(url: string): Promise<HunyuanServer | undefined> {
    const key = await serverAddressKey(url)
    const keys = await Promise.all(
      this.pool.servers.map((server) => {
        const known = this.addresses.get(server) ?? serverAddressKey(server.url)
        this.addresses.set(server, known)
        return known
      }),
    )
    return this.pool.servers[keys.indexOf(key)]
  }

  private async save(): Promise<void> {
    const servers = this.pool.servers
      .filter((server) => server.settings.source === 'settings')
      .map(({ url, settings: { concurrency, texture, model } }) => ({
        url,
        concurrency,
        texture,
        ...(model ? { model } : {}),
      }))
    await this.file?.save(servers)
  }
}
