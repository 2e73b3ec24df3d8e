import { z } from 'zod'
import type { BackendTestResult, ServerSource } from '../../shared/contract'
import { AppError } from '../../shared/errors'
import type { ParsedInput } from '../../shared/operations'
import { addBackendSchema } from '../../shared/schemas'
import type { LogFn } from '../app-log'
import type { HunyuanPool } from '../generation/hunyuan/hunyuan-pool'
import { gpuServerId, HunyuanServer, type HunyuanServerSettings } from '../generation/hunyuan/hunyuan-server'
import type { JsonFile } from '../storage/json-file'

/** How long a test of a new server may take before it counts as not answering. */
export const SERVER_TEST_TIMEOUT_MS = 5_000

/** The servers a user set up in the app, as saved in the data folder. */
export const savedServersSchema = z.strictObject({ servers: z.array(addBackendSchema) })
export type SavedServersFile = JsonFile<typeof savedServersSchema>

/**
 * The GPU servers of the pool that a user manages in the app: added by URL (tested first,
 * and saved only when it answers as a Hunyuan3D api_server), removed by id, kept in
 * `gpu-servers.json` so a restart keeps them. Servers from MESHCACHE_HUNYUAN_URL are listed
 * beside them and cannot be removed here.
 */
export class GpuServers {
  constructor(
    private readonly pool: HunyuanPool,
    private readonly file: SavedServersFile | undefined,
    /** Told when the pool changed, so the next request asks the servers afresh. */
    private readonly changed: () => void,
    private readonly log?: LogFn,
    /** Settings every server added here starts from (tests poll faster than people need). */
    private readonly defaults: Partial<HunyuanServerSettings> = {},
  ) {}

  /** Adds the saved servers to the pool (after those from the environment). */
  async load(): Promise<string | undefined> {
    const { value, problem } = (await this.file?.load()) ?? {}
    let added = 0
    for (const saved of value?.servers ?? []) {
      if (this.has(saved.url)) continue
      this.pool.add(new HunyuanServer({ ...this.defaults, ...saved, source: 'settings' }))
      added++
    }
    if (added > 0) this.changed()
    return problem
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
  async add({ url, concurrency, texture, model }: ParsedInput<'addBackend'>): Promise<void> {
    if (this.has(url)) throw new AppError('INVALID_REQUEST', `${url} is already set up.`)
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
    if (this.has(server.url)) return
    this.pool.add(server)
    this.changed()
  }

  detach(url: string): void {
    this.pool.remove(gpuServerId(url))
    this.changed()
  }

  private has(url: string): boolean {
    return this.pool.servers.some((server) => server.id === gpuServerId(url))
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
    await this.file?.save({ servers })
  }
}
