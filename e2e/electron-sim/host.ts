import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page, Route } from '@playwright/test'

const ROOT = join(import.meta.dirname, '../..')
const REGISTER = join(import.meta.dirname, 'register.mjs')
const RENDERER_FAKE = readFileSync(join(import.meta.dirname, 'renderer-fake.js'), 'utf8')

/**
 * The test-process half of the electron stand-in (see electron.mjs for what it models): runs
 * the built Electron main (out/main/index.js) unchanged in Node with `electron` answered by
 * electron.mjs, and makes a Playwright page its window. The real preload bundle runs in the
 * page under the renderer fake (contextBridge, ipcRenderer); webContents.send comes back in.
 *
 * Each privileged scheme's origin is a real origin of the test browser: `meshcache://app/x`
 * is `http://app.meshcache.localhost/x` (a *.localhost origin is a secure context, as a
 * `secure` scheme is), whose requests are routed to the app's real protocol handler. No page
 * API is replaced: Chromium itself applies the CSP, same-origin rules and opaque no-cors
 * answers to them. One rule is decided here rather than by Chromium: Playwright's
 * route.fulfill adds `Access-Control-Allow-Origin: <origin>` to any routed answer to a
 * cross-origin request that lacks one (playwright-core 1.65, seen in its source), which would
 * grant what Chromium refuses. So a request carrying another origin's Origin header is refused
 * unless the scheme is corsEnabled and the handler's answer grants that origin, as Electron
 * (electron/electron#51152) and Chromium's CORS check together would.
 */
export interface SimApp {
  page: Page
  child: ChildProcess
  /** When the window was created and when its page finished loading (ms, performance.now of the test). */
  timeline: { windowCreated?: number; loaded?: number }
  /** The window's bounds as created, and as last set. */
  bounds?: { x: number; y: number; width: number; height: number }
  /** Dialogs the app showed, with their options. */
  dialogs: { kind: 'save' | 'open'; options: { defaultPath?: string } }[]
  messageBoxes: { message?: string; detail?: string }[]
  /** Paths the app asked the desktop to open (shell.openPath). */
  opened: string[]
  /** The application menu, as labels. */
  menu: MenuLabel[]
  /** How often the window was focused (a second launch focuses it). */
  focused: number
  /** The next save dialog answers with this path (the user's choice). */
  answerSaveDialog(filePath: string): void
  answerOpenDialog(filePath: string): void
  /** Moves or resizes the window, as the user would. */
  setBounds(bounds: Partial<{ x: number; y: number; width: number; height: number }>): Promise<void>
  clickMenu(...path: string[]): Promise<void>
  /** Lets model files be read (launched with MESHCACHE_SIM_HOLD_READS). */
  releaseReads(): void
  /** Routes another page's requests for the app's schemes to this app, as the scheme is browser-wide in Electron. */
  routeSchemes(page: Page): Promise<void>
  /** Quits as a user does (the app saves its indexes first) and waits for the process to end. */
  quit(): Promise<void>
}

export interface MenuLabel {
  label: string
  accelerator?: string
  submenu?: MenuLabel[]
}

/** What the two halves send each other (see the message switch in electron.mjs). */
interface Message {
  type: string
  call?: number
  window?: number
  url?: string
  kind?: 'save' | 'open'
  value?: unknown
  error?: string
  options?: { defaultPath?: string; message?: string; detail?: string }
  webPreferences?: { preload?: string }
  bounds?: { x: number; y: number; width: number; height: number }
  items?: MenuLabel[]
  path?: string
  channel?: string
  payload?: unknown
  schemes?: { scheme: string }[]
}

/** `meshcache://app/x` as the test browser's origin for it, and back. */
export function browserUrl(electronUrl: string): string {
  const url = new URL(electronUrl)
  if (url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'file:') return electronUrl
  return `http://${url.host}.${url.protocol.slice(0, -1)}.localhost${url.pathname}${url.search}`
}

export function electronUrl(pageUrl: string, schemes: readonly string[]): string {
  const url = new URL(pageUrl)
  const match = /^(.+)\.([a-z][a-z0-9+.-]*)\.localhost$/.exec(url.hostname)
  if (url.protocol !== 'http:' || !match || !schemes.includes(match[2] as string)) return pageUrl
  return `${match[2]}://${match[1]}${url.pathname}${url.search}`
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
  // Electron runs the preload before the page's scripts, with require('electron') only.
  meshcacheRendererFake.runPreload(function (require, module, exports) {
${preloadSource}
  }, fake.electron)
})()`
}

export async function launchSimApp(
  page: Page,
  options: { userData: string; env?: Record<string, string>; args?: string[] },
): Promise<SimApp> {
  const child = spawn(
    process.execPath,
    ['--import', REGISTER, join(ROOT, 'out/main/index.js'), ...(options.args ?? [])],
    {
      cwd: ROOT,
      env: { ...process.env, ...options.env, MESHCACHE_SIM_USER_DATA: options.userData },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    },
  )
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  let nextCall = 1
  const call = (message: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('MeshCache has quit'))
      const id = nextCall++
      pending.set(id, { resolve, reject })
      child.send({ ...message, call: id })
    })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let windowId = 1
  const schemes: string[] = []
  const sim: SimApp = {
    page,
    child,
    timeline: {},
    dialogs: [],
    messageBoxes: [],
    opened: [],
    menu: [],
    focused: 0,
    answerSaveDialog: (filePath) =>
      child.send({ type: 'dialog-answer', kind: 'save', answer: { canceled: false, filePath } }),
    answerOpenDialog: (filePath) =>
      child.send({ type: 'dialog-answer', kind: 'open', answer: { canceled: false, filePaths: [filePath] } }),
    setBounds: async (bounds) => {
      await call({ type: 'set-bounds', window: windowId, bounds })
    },
    clickMenu: async (...path) => {
      await call({ type: 'menu-click', path })
    },
    releaseReads: () => child.send({ type: 'release-reads' }),
    routeSchemes: async (other) => {
      await Promise.all(schemes.map((scheme) => routeScheme(other, scheme)))
    },
    async quit() {
      // The window goes first (as when the user closes it): nothing calls into a quitting app.
      await page.close()
      if (child.exitCode === null && child.connected) child.send({ type: 'quit' })
      await exited
    },
  }

  await page.exposeBinding('__meshcacheSimInvoke', async ({ frame }, channel: string, args: unknown[]) =>
    call({ type: 'invoke', channel, args, senderUrl: electronUrl(frame.url(), schemes) }),
  )

  /** Requests to a scheme's origin go to the app's protocol handler, with Electron's rule first. */
  const routeScheme = async (target: Page, scheme: string): Promise<void> => {
    await target.route(`http://*.${scheme}.localhost/**`, async (route: Route) => {
      const request = route.request()
      const headers = await request.allHeaders()
      const answer = (await call({
        type: 'protocol',
        request: {
          url: electronUrl(request.url(), schemes),
          method: request.method(),
          headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(':'))),
          // An origin has no path: `http://app.meshcache.localhost` is `meshcache://app`.
          origin: headers.origin === undefined ? undefined : electronUrl(headers.origin, schemes).replace(/\/$/, ''),
        },
      }).catch((error: Error) => ({ failed: error.message }))) as
        | { failed: string }
        | { refused: string }
        | { status: number; headers: Record<string, string>; body: Uint8Array }
      if ('failed' in answer) {
        // The handler threw (Electron answers a net error), or the app has gone.
        return route.abort('failed')
      }
      if ('refused' in answer) return route.abort('accessdenied')
      return route.fulfill({ status: answer.status, headers: answer.headers, body: Buffer.from(answer.body) })
    })
  }

  let preloadPath: string | undefined
  const routed: Promise<void>[] = []
  const loaded = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      // A second instance hands its picture over and leaves without a window.
      if (sim.timeline.windowCreated === undefined && code === 0) resolve()
      else reject(new Error(`the app exited (code ${code}) before its window loaded`))
    })
    child.on('message', (message: Message) => {
      if (message.type === 'reply') {
        const waiter = pending.get(message.call as number)
        pending.delete(message.call as number)
        if (message.error) waiter?.reject(new Error(message.error))
        else waiter?.resolve(message.value)
      } else if (message.type === 'schemes') {
        for (const { scheme } of message.schemes ?? []) {
          schemes.push(scheme)
          routed.push(routeScheme(page, scheme))
        }
      } else if (message.type === 'window') {
        sim.timeline.windowCreated = performance.now()
        windowId = message.window ?? 1
        sim.bounds = message.bounds
        preloadPath = message.webPreferences?.preload
      } else if (message.type === 'bounds') {
        sim.bounds = message.bounds
      } else if (message.type === 'load') {
        void (async () => {
          await Promise.all(routed)
          await page.addInitScript({ content: setupScript(readFileSync(preloadPath as string, 'utf8')) })
          await page.goto(browserUrl(message.url as string))
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
        sim.dialogs.push({ kind: message.kind ?? 'save', options: message.options ?? {} })
      } else if (message.type === 'message-box') {
        sim.messageBoxes.push(message.options ?? {})
      } else if (message.type === 'open-path') {
        sim.opened.push(message.path as string)
      } else if (message.type === 'menu') {
        sim.menu = message.items ?? []
      } else if (message.type === 'focus') {
        sim.focused++
      }
    })
  })
  await loaded
  return sim
}
