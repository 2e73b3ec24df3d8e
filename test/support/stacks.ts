import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventSource } from 'eventsource'
import { whenReady } from '../../src/core/dispatch'
import type { Generator } from '../../src/core/generation/generator'
import { Backends } from '../../src/core/service/backends'
import { ModelService } from '../../src/core/service/model-service'
import { TieredStore } from '../../src/core/service/tiered-store'
import { DiskTier, type DiskTierOptions } from '../../src/core/storage/disk-tier'
import { ThumbnailStore } from '../../src/core/storage/thumbnail-store'
import { forwardEvents, registerIpc } from '../../src/main/ipc'
import { handleAppRequest } from '../../src/main/protocol'
import { saveModelHandler } from '../../src/main/save-model'
import { shellOperations } from '../../src/main/shell-operations'
import { createHttpApi } from '../../src/renderer/src/api/http-api'
import { buildHost } from '../../src/server/app'
import { type Addresses, appAddresses } from '../../src/shared/addresses'
import type { CacheLimits } from '../../src/shared/cache-types'
import { STOPPED_LOCAL_SERVER } from '../../src/shared/contract'
import type { Api } from '../../src/shared/operations'
import '../../e2e/electron-sim/renderer-fake.js'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import { GpuServers } from '../../src/core/service/gpu-servers'
import { FakeIpcMain } from './fake-ipc-main'
import { until } from './until'

/** The app's page in Electron: its own origin (src/main/protocol.ts). */
export const APP_ORIGIN = 'meshcache://app'
export const APP_URL = `${APP_ORIGIN}/index.html`
/** The built renderer, which that origin serves. */
export const RENDERER_DIR = join(import.meta.dirname, '../../out/renderer')

/** The desktop shell's own operations as a test host has them (no folder is really opened). */
export const desktopShell = shellOperations({
  status: () => ({ startupError: null, desktop: true }),
  actions: { openDataFolder: () => undefined, openLogFile: () => undefined, quit: () => undefined },
  localServer: {
    status: () => STOPPED_LOCAL_SERVER,
    start: async () => STOPPED_LOCAL_SERVER,
    stop: async () => STOPPED_LOCAL_SERVER,
  },
})

const PRELOAD = join(import.meta.dirname, '../../out/preload/index.cjs')

export interface ServiceSetup {
  generators: Generator[]
  limits?: Partial<CacheLimits>
  /** A disk tier in a fresh temporary folder (default), or memory only. */
  disk?: boolean
  /** The disk tier's folder, to reopen one (a restart). */
  diskDir?: string
  diskOptions?: Partial<DiskTierOptions>
  /** GPU servers added through the Api join this pool, tried before `generators` (default: a pool no request uses). */
  pool?: HunyuanPool
}

/** GPU servers added in tests are polled often: a /send job's end is seen in milliseconds, not seconds. */
export const TEST_SERVER_SETTINGS = { pollMs: 20 }

/** A real ModelService over the given generators, with a disk tier in a temporary folder. */
export async function makeService(setup: ServiceSetup, addresses: Addresses): Promise<ModelService> {
  const dir =
    setup.disk === false ? undefined : (setup.diskDir ?? join(mkdtempSync(join(tmpdir(), 'meshcache-test-')), 'models'))
  const store = new TieredStore({
    limits: setup.limits,
    disk: dir ? new DiskTier({ dir, log: () => undefined, ...setup.diskOptions }) : undefined,
    thumbnails: new ThumbnailStore({ dir: dir ? join(dir, 'thumbnails') : undefined }),
  })
  const pool = setup.pool ?? new HunyuanPool([])
  const backends = new Backends(setup.pool ? [pool, ...setup.generators] : setup.generators)
  // GPU servers can be added, tested and refused here; none is saved (no data folder in these stacks).
  const gpuServers = new GpuServers(pool, undefined, () => backends.forget(pool.id), undefined, TEST_SERVER_SETTINGS)
  const service = new ModelService({ store, backends, addresses, gpuServers })
  await service.open()
  return service
}

/** One way the renderer reaches the app: the Api, plus what the test needs to look behind it. */
export interface Stack {
  api: Api
  service: ModelService
  /** The same Api, called from a page that is not the app's own. */
  foreign: Api
  /** A model's bytes, fetched the way the renderer would (HTTP GET, or the meshcache:// protocol). */
  fetchModel(url: string): Promise<{ status: number; bytes: Uint8Array }>
  /** Where each save went (a download in the browser, a file in Electron), and its bytes as saved. */
  saves: { target: string; read(): Promise<Uint8Array> }[]
  /** Resolves once every subscription made so far receives the service's events. */
  eventsConnected(): Promise<void>
  close(): Promise<void>
}

export interface StackKind {
  name: string
  start(setup: ServiceSetup): Promise<Stack>
}

/** (a) The renderer's HTTP adapter, talking to a real Fastify host over a real service. */
export const httpStack: StackKind = {
  name: 'HTTP adapter → Fastify host',
  async start(setup) {
    const service = await makeService(setup, appAddresses)
    const app = await buildHost({ service })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const saves: Stack['saves'] = []
    const sources: EventSource[] = []
    class TrackedEventSource extends EventSource {
      constructor(url: string) {
        super(url)
        sources.push(this)
      }
    }
    const api = createHttpApi({
      base,
      EventSource: TrackedEventSource,
      download: (url) =>
        saves.push({ target: url, read: async () => new Uint8Array(await (await fetch(url)).arrayBuffer()) }),
    })
    const foreign = createHttpApi({
      base,
      EventSource: TrackedEventSource,
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), origin: 'https://evil.example' },
        }),
    })
    return {
      api,
      service,
      foreign,
      saves,
      // The host adds a stream's client before its headers leave, so an open stream hears every event.
      eventsConnected: () =>
        until(
          () => sources.length > 0 && sources.every((s) => s.readyState === EventSource.OPEN),
          'the event stream opened',
        ),
      async fetchModel(url) {
        const response = await fetch(`${base}${url}`)
        return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) }
      },
      async close() {
        for (const source of sources) source.close()
        await app.close()
        await service.close()
      },
    }
  },
}

/**
 * (b) The built preload bundle (out/preload/index.cjs), loaded as a sandboxed Electron
 * preload is: CommonJS, `require('electron')` answered by a stand-in whose ipcRenderer
 * reaches the real IPC registration (on a fake ipcMain) over a real service.
 */
export const preloadStack: StackKind = {
  name: 'built preload → IPC',
  async start(setup) {
    const service = await makeService(setup, appAddresses)
    const ipcMain = new FakeIpcMain()
    const saves: Stack['saves'] = []
    // The user chooses a file in a folder of this run; the model is written there for real.
    const chosenFolder = mkdtempSync(join(tmpdir(), 'meshcache-saved-'))
    const saveModel = saveModelHandler(
      (key) => service.model(key),
      async (options) => {
        const target = join(chosenFolder, options.defaultPath)
        saves.push({ target, read: () => readFile(target) })
        return { canceled: false, filePath: target }
      },
    )
    const unregister = registerIpc(
      ipcMain,
      { ...whenReady(Promise.resolve(service)), saveModel, ...desktopShell },
      (url) => url === APP_URL,
    )
    const source = readFileSync(PRELOAD, 'utf8')
    const load = (pageUrl: string): { api: Api; emit: (channel: string, payload: unknown) => void } => {
      const fake = globalThis.meshcacheRendererFake.createElectron({
        invoke: (channel, args) => ipcMain.invoke(pageUrl, channel, ...args),
      })
      const preload = new Function('require', 'module', 'exports', source) as Parameters<
        typeof globalThis.meshcacheRendererFake.runPreload
      >[0]
      globalThis.meshcacheRendererFake.runPreload(preload, fake.electron)
      return { api: fake.exposed.api as Api, emit: fake.emit }
    }
    const app = load(APP_URL)
    const foreign = load('https://evil.example/')
    const stopEvents = forwardEvents(service.events, (channel, payload) => app.emit(channel, payload))
    return {
      api: app.api,
      service,
      foreign: foreign.api,
      saves,
      // Events are forwarded to the page in-process: a subscription hears them at once.
      eventsConnected: async () => {},
      async fetchModel(url) {
        const response = await handleAppRequest(service, RENDERER_DIR, {
          url: new URL(url, APP_ORIGIN).href,
          method: 'GET',
        })
        return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) }
      },
      async close() {
        stopEvents()
        unregister()
        await service.close()
        rmSync(chosenFolder, { recursive: true, force: true })
      },
    }
  },
}

export const STACKS = [httpStack, preloadStack]
