import { z } from 'zod'
import type { BackendTestResult, ServerSource } from '../../shared/contract'
import { AppError } from '../../shared/errors'
import type { ParsedInput } from '../../shared/operations'
import { addBackendSchema } from '../../shared/schemas'
import type { LogFn } from '../app-log'
import type { HunyuanPool } from '../generation/hunyuan/hunyuan-pool'
import { gpuServerId, HunyuanServer } from '../generation/hunyuan/hunyuan-server'
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
  ) {}

  /** Adds the saved servers to the pool (after those from the environment). */
  async load(): Promise<string | undefined> {
    const { value, problem } = (await this.file?.load()) ?? {}
    let added = 0
    for (const saved of value?.servers ?? []) {
      if (this.has(saved.url)) continue
      this.pool.add(new HunyuanServer({ ...saved, source: 'settings' }))
      added++
    }
    if (added > 0) this.changed()
    return problem
  }

  /** Probes a URL without saving anything: its variant, reachable or busy, and the round trip. */
  async test({ url }: ParsedInput<'testBackend'>): Promise<BackendTestResult> {
    const server = new HunyuanServer({ url, probeTimeoutMs: SERVER_TEST_TIMEOUT_MS })
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
    }
  }

  async add({ url, concurrency, texture }: ParsedInput<'addBackend'>): Promise<void> {
    if (this.has(url)) throw new AppError('INVALID_REQUEST', `${url} is already set up.`)
    const test = await this.test({ url })
    if (!test.ok) {
      const why =
        test.state === 'busy'
          ? 'it did not answer in time (it may be generating; try again when it is free)'
          : (test.detail ?? 'it is not reachable')
      throw new AppError('BACKEND_UNAVAILABLE', `${url} was not added: ${why}. Nothing was saved.`)
    }
    this.pool.add(new HunyuanServer({ url, concurrency, texture, source: 'settings' }))
    await this.save()
    this.log?.('GPU server added', { url, variant: test.variant, concurrency, texture })
    this.changed()
  }

  async remove({ id }: ParsedInput<'removeBackend'>): Promise<void> {
    const server = this.pool.servers.find((each) => each.id === id)
    if (!server) throw new AppError('NOT_FOUND', 'No GPU server has that id.')
    const source: ServerSource = server.settings.source
    if (source !== 'settings') {
      throw new AppError(
        'INVALID_REQUEST',
        source === 'environment'
          ? `${server.url} comes from MESHCACHE_HUNYUAN_URL; change that variable to remove it.`
          : `${server.url} is the server MeshCache starts itself; stop it in the local server settings.`,
      )
    }
    this.pool.remove(id)
    await this.save()
    this.log?.('GPU server removed', { url: server.url })
    this.changed()
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
      .map(({ url, settings: { concurrency, texture } }) => ({ url, concurrency, texture }))
    await this.file?.save({ servers })
  }
}
