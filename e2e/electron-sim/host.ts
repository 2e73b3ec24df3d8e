import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from '@playwright/test'

const ROOT = join(import.meta.dirname, '../..')
const REGISTER = join(import.meta.dirname, 'register.mjs')
const RENDERER_FAKE = readFileSync(join(import.meta.dirname, 'renderer-fake.js'), 'utf8')

/**
 * The test-process half of the electron stand-in: runs the built Electron main
 * (out/main/index.js) unchanged in Node with `electron` answered by electron.mjs, and makes
 * a Playwright page its window: the real preload bundle runs in the page with the renderer
 * fake, ipcRenderer.invoke and meshcache:// requests go to the app process over Node's IPC
 * channel, and webContents.send comes back into the page.
 */
export interface SimApp {
  page: Page
  child: ChildProcess
  /** When the window was created and when its page finished loading (ms, performance.now of the test). */
  timeline: { windowCreated?: number; loaded?: number }
  /** Save dialogs the app showed, with their options. */
  dialogs: { defaultPath?: string }[]
  /** The next save dialog answers with this path (the user's choice). */
  answerSaveDialog(filePath: string): void
  /** Lets model files be read (launched with MESHCACHE_SIM_HOLD_READS). */
  releaseReads(): void
  /** Quits as a user does (the app saves its indexes first) and waits for the process to end. */
  quit(): Promise<void>
}

/** What the two halves send each other (see the message switch in electron.mjs). */
interface Message {
  type: string
  call?: number
  window?: number
  url?: string
  senderUrl?: string
  method?: string
  channel?: string
  args?: unknown[]
  payload?: unknown
  value?: unknown
  error?: string
  options?: { defaultPath?: string }
  webPreferences?: { preload?: string }
}

function setupScript(preloadSource: string): string {
  return `${RENDERER_FAKE}
;(() => {
  const fake = meshcacheRendererFake.createElectron({
    invoke: (channel, args) => window.__meshcacheSimInvoke(channel, args),
    // contextBridge puts the API on the page's window, read-only.
    expose: (name, api) => Object.defineProperty(window, name, { value: api, enumerable: true }),
  })
  window.__meshcacheSimEmit = fake.emit
  // meshcache:// is answered by the app's real protocol handler (Chromium cannot route a
  // custom scheme, so requests for it are caught here): fetches, and pictures' sources.
  const viaProtocol = async (url, method) => {
    const { status, headers, body } = await window.__meshcacheSimProtocol(url, method)
    return new Response(method === 'HEAD' ? null : body, { status, headers })
  }
  const realFetch = window.fetch.bind(window)
  window.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return url.startsWith('meshcache:') ? viaProtocol(url, (init && init.method) || 'GET') : realFetch(input, init)
  }
  const setAttribute = Element.prototype.setAttribute
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    if (name === 'src' && String(value).startsWith('meshcache:')) {
      viaProtocol(String(value), 'GET')
        .then((response) => response.blob())
        .then((blob) => setAttribute.call(this, 'src', URL.createObjectURL(blob)))
      return
    }
    return setAttribute.call(this, name, value)
  }
  // Electron runs the preload before the page's scripts, with require('electron') only.
  meshcacheRendererFake.runPreload(function (require, module, exports) {
${preloadSource}
  }, fake.electron)
})()`
}

export async function launchSimApp(
  page: Page,
  options: { userData: string; env?: Record<string, string> },
): Promise<SimApp> {
  const child = spawn(process.execPath, ['--import', REGISTER, join(ROOT, 'out/main/index.js')], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, MESHCACHE_SIM_USER_DATA: options.userData },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  })
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  let nextCall = 1
  const call = (message: Omit<Message, 'call'>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('MeshCache has quit'))
      const id = nextCall++
      pending.set(id, { resolve, reject })
      child.send({ ...message, call: id })
    })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const sim: SimApp = {
    page,
    child,
    timeline: {},
    dialogs: [],
    answerSaveDialog: (filePath) => child.send({ type: 'dialog-answer', answer: { canceled: false, filePath } }),
    releaseReads: () => child.send({ type: 'release-reads' }),
    async quit() {
      // The window goes first (as when the user closes it): nothing calls into a quitting app.
      await page.close()
      if (child.exitCode === null && child.connected) child.send({ type: 'quit' })
      await exited
    },
  }

  await page.exposeBinding('__meshcacheSimInvoke', async ({ frame }, channel: string, args: unknown[]) =>
    call({ type: 'invoke', channel, args, senderUrl: frame.url() }),
  )
  await page.exposeBinding('__meshcacheSimProtocol', async (_source, url: string, method: string) =>
    call({ type: 'protocol', url, method }),
  )

  let preloadPath: string | undefined
  const loaded = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the app exited (code ${code}) before its window loaded`)))
    child.on('message', (message: Message) => {
      if (message.type === 'reply') {
        const waiter = pending.get(message.call as number)
        pending.delete(message.call as number)
        if (message.error) waiter?.reject(new Error(message.error))
        else waiter?.resolve(message.value)
      } else if (message.type === 'window') {
        sim.timeline.windowCreated = performance.now()
        preloadPath = message.webPreferences?.preload
      } else if (message.type === 'load') {
        void (async () => {
          await page.addInitScript({ content: setupScript(readFileSync(preloadPath as string, 'utf8')) })
          await page.goto(message.url as string)
          sim.timeline.loaded = performance.now()
          child.send({ type: 'loaded', window: message.window })
          resolve()
        })().catch(reject)
      } else if (message.type === 'send') {
        void page
          .evaluate(
            ([channel, payload]) =>
              (window as unknown as { __meshcacheSimEmit: (c: unknown, p: unknown) => void }).__meshcacheSimEmit(
                channel,
                payload,
              ),
            [message.channel, message.payload] as const,
          )
          .catch(() => undefined)
      } else if (message.type === 'dialog') {
        sim.dialogs.push(message.options ?? {})
      }
    })
  })
  await loaded
  return sim
}
