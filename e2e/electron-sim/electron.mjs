// FAKE of the `electron` module for the main process: the stand-in that lets the built
// Electron main (out/main/index.js) run unchanged in plain Node, because Electron's binary
// cannot be downloaded here. Loaded by register.mjs in place of the real module. Each window
// is a Playwright page in the test process (host.ts), which talks to this process over Node's
// IPC channel. It never patches a page API: Chromium's own CORS and CSP decide what loads.
//
// What it models, and where each fact comes from (Electron's API docs for v45; Chromium):
// - app: whenReady/isReady, 'ready' after the main module's top level; getPath('userData');
//   getVersion() from the app's package.json; quit() emits 'before-quit' (preventable), closes
//   the windows ('close', then 'closed'), 'will-quit', 'quit', then exits; 'window-all-closed'.
// - app.requestSingleInstanceLock(): synchronous, true for the first instance of a userData
//   folder; a second instance gets false and its argv reaches the first as 'second-instance'
//   (event, argv, workingDirectory, additionalData). Like Chromium's ProcessSingleton on Linux
//   (a SingletonLock in userData and a socket the second instance writes its argv to), here a
//   lock file naming a live pid and a Unix socket in the temporary folder (a socket path in a
//   deep userData folder would pass the 108-byte limit, which Chromium avoids the same way).
// - protocol.registerSchemesAsPrivileged before ready; protocol.handle answers a scheme's
//   requests with the handler's Response. Since electron/electron#51152 (Electron 41+), a
//   cross-origin fetch or XHR (a `cors`-mode request) to a custom scheme that is not registered
//   `corsEnabled` is refused before the handler runs; a no-cors load (an <img>) reaches the
//   handler and the page gets an opaque answer. host.ts gives each scheme origin a real origin
//   in the test browser (`meshcache://app` as `http://app.meshcache.localhost`, a secure context
//   as `secure: true` makes the scheme one) and routes its requests here, so Chromium applies
//   the CSP, same-origin rules and opaque no-cors answers to them as to the real scheme. The
//   CORS grant itself is decided here (protocol._fetch): Playwright's route.fulfill adds an
//   Access-Control-Allow-Origin to any routed cross-origin answer that lacks one (seen in
//   playwright-core 1.65's source), which would grant what Chromium refuses.
// - BrowserWindow: bounds from its options, getBounds/getNormalBounds/setBounds, 'resize' and
//   'move' when the user moves it, maximize/isMaximized, isMinimized/restore, show/focus,
//   'ready-to-show' once the page has loaded; webContents.send, setWindowOpenHandler,
//   'will-navigate'; loadURL/loadFile.
// - screen.getAllDisplays(): one 1920×1080 display, or those of MESHCACHE_SIM_DISPLAYS (JSON
//   [{x, y, width, height}]), each with bounds and workArea.
// - Menu.buildFromTemplate / setApplicationMenu; a click calls item.click(menuItem, window, event).
// - dialog.showSaveDialog / showOpenDialog answer what the test scripted (else cancel);
//   showMessageBox records its options; shell.openPath resolves '' when the path exists, else
//   an error string, as Electron's does; ipcMain.handle with one handler per channel.
// - session.defaultSession: setPermissionRequestHandler, setPermissionCheckHandler.
// Not modelled: Chromium's process model, native menus and dialogs, GPU and window painting.
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const parent = {
  send(message) {
    process.send?.(message)
  },
}

/** Electron's preventable events: listeners get an event whose preventDefault() is remembered. */
function preventableEvent() {
  return {
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true
    },
  }
}

function userDataFolder() {
  // Never the user's real folder: each run of a test names its own.
  const folder = process.env.MESHCACHE_SIM_USER_DATA
  if (!folder) throw new Error('the electron stand-in needs MESHCACHE_SIM_USER_DATA (a per-run folder)')
  return folder
}

// --- the single-instance lock ------------------------------------------------------------

const singleton = {
  held: false,
  /** A second instance's message to the first, under way: quitting waits for it. */
  notifying: Promise.resolve(),
  server: undefined,
  lockFile: () => join(userDataFolder(), 'SingletonLock'),
  socketPath: () =>
    join(tmpdir(), `meshcache-sim-${createHash('sha256').update(userDataFolder()).digest('hex').slice(0, 16)}.sock`),
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

function takeLock() {
  fs.mkdirSync(userDataFolder(), { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(singleton.lockFile(), String(process.pid), { flag: 'wx' })
      return true
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      const owner = Number(fs.readFileSync(singleton.lockFile(), 'utf8'))
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) return false
      fs.rmSync(singleton.lockFile(), { force: true }) // left by a crashed instance
    }
  }
  return false
}

function listenForSecondInstances() {
  const path = singleton.socketPath()
  fs.rmSync(path, { force: true })
  singleton.server = net.createServer((socket) => {
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('end', () => {
      const { argv, cwd, additionalData } = JSON.parse(text)
      app.emit('second-instance', preventableEvent(), argv, cwd, additionalData)
    })
  })
  singleton.server.listen(path)
  singleton.server.unref()
}

function tellFirstInstance(additionalData) {
  singleton.notifying = new Promise((resolve) => {
    const socket = net.connect(singleton.socketPath(), () => {
      socket.end(JSON.stringify({ argv: process.argv, cwd: process.cwd(), additionalData }))
    })
    socket.on('close', resolve)
    socket.on('error', resolve)
  })
}

// --- app ---------------------------------------------------------------------------------

class App extends EventEmitter {
  #ready = false
  #readyPromise
  #markReady
  #quitting = false

  constructor() {
    super()
    this.#readyPromise = new Promise((resolve) => {
      this.#markReady = resolve
    })
  }

  isReady() {
    return this.#ready
  }

  whenReady() {
    return this.#readyPromise
  }

  /** Called by the stand-in once the main module has run its top level, as Electron does. */
  _start() {
    this.#ready = true
    this.emit('ready')
    this.#markReady()
  }

  getPath(name) {
    if (name !== 'userData') throw new Error(`app.getPath('${name}') is not part of the stand-in`)
    return userDataFolder()
  }

  getVersion() {
    return JSON.parse(fs.readFileSync(join(process.cwd(), 'package.json'), 'utf8')).version
  }

  requestSingleInstanceLock(additionalData) {
    if (singleton.held) return true
    singleton.held = takeLock()
    if (singleton.held) listenForSecondInstances()
    else tellFirstInstance(additionalData)
    return singleton.held
  }

  /** As Electron: 'before-quit' (preventable), then windows close, 'will-quit', 'quit', exit. */
  quit() {
    if (this.#quitting) return
    const before = preventableEvent()
    this.emit('before-quit', before)
    if (before.defaultPrevented) return
    this.#quitting = true
    for (const window of BrowserWindow.getAllWindows()) window.close()
    const will = preventableEvent()
    this.emit('will-quit', will)
    this.emit('quit', will, 0)
    void singleton.notifying.then(() => {
      if (singleton.held) fs.rmSync(singleton.lockFile(), { force: true })
      parent.send({ type: 'exited' })
      setImmediate(() => process.exit(0))
    })
  }
}

export const app = new App()

// --- screen ------------------------------------------------------------------------------

const displays = (
  JSON.parse(process.env.MESHCACHE_SIM_DISPLAYS ?? 'null') ?? [{ x: 0, y: 0, width: 1920, height: 1080 }]
).map((bounds, index) => ({ id: index + 1, bounds, workArea: bounds, scaleFactor: 1 }))

export const screen = {
  getAllDisplays: () => displays.map((display) => structuredClone(display)),
  getPrimaryDisplay: () => structuredClone(displays[0]),
}

// --- BrowserWindow -----------------------------------------------------------------------

let nextWindowId = 1
const windows = new Map()

class WebContents extends EventEmitter {
  #window

  constructor(window) {
    super()
    this.#window = window
  }

  get id() {
    return this.#window.id
  }

  setWindowOpenHandler(handler) {
    this.openHandler = handler
  }

  /** A message to the page's ipcRenderer listeners. */
  send(channel, payload) {
    if (this.#window.isDestroyed()) throw new Error('Object has been destroyed')
    parent.send({ type: 'send', window: this.id, channel, payload })
  }
}

export class BrowserWindow extends EventEmitter {
  #destroyed = false
  #bounds
  #maximized = false

  static getAllWindows() {
    return [...windows.values()]
  }

  static getFocusedWindow() {
    return [...windows.values()][0] ?? null
  }

  constructor(options = {}) {
    super()
    if (!app.isReady()) throw new Error('Cannot create BrowserWindow before app is ready')
    this.id = nextWindowId++
    this.options = options
    const primary = displays[0].workArea
    const width = options.width ?? 800
    const height = options.height ?? 600
    this.#bounds = {
      x: options.x ?? primary.x + Math.round((primary.width - width) / 2),
      y: options.y ?? primary.y + Math.round((primary.height - height) / 2),
      width,
      height,
    }
    this.webContents = new WebContents(this)
    this.visible = options.show !== false
    windows.set(this.id, this)
    parent.send({ type: 'window', window: this.id, webPreferences: options.webPreferences ?? {}, bounds: this.#bounds })
  }

  loadFile(path) {
    return this.loadURL(pathToFileURL(path).href)
  }

  loadURL(url) {
    parent.send({ type: 'load', window: this.id, url })
    return new Promise((resolve) => this.once('_loaded', resolve))
  }

  getBounds() {
    return { ...this.#bounds }
  }

  getNormalBounds() {
    return { ...this.#bounds }
  }

  /** As when the user drags or resizes the window: 'move' and 'resize' follow. */
  setBounds(bounds) {
    const before = this.#bounds
    this.#bounds = { ...before, ...bounds }
    if (before.x !== this.#bounds.x || before.y !== this.#bounds.y) this.emit('move')
    if (before.width !== this.#bounds.width || before.height !== this.#bounds.height) this.emit('resize')
    parent.send({ type: 'bounds', window: this.id, bounds: this.#bounds })
  }

  maximize() {
    this.#maximized = true
    this.emit('maximize')
  }

  isMaximized() {
    return this.#maximized
  }

  isMinimized() {
    return false
  }

  restore() {}

  show() {
    this.visible = true
    parent.send({ type: 'show', window: this.id })
  }

  focus() {
    parent.send({ type: 'focus', window: this.id })
  }

  isDestroyed() {
    return this.#destroyed
  }

  /** As Electron: 'close' (preventable), then the window goes and 'closed' follows. */
  close() {
    if (this.#destroyed) return
    const event = preventableEvent()
    this.emit('close', event)
    if (!event.defaultPrevented) this.destroy()
  }

  destroy() {
    if (this.#destroyed) return
    this.#destroyed = true
    windows.delete(this.id)
    this.emit('closed')
    if (windows.size === 0) app.emit('window-all-closed')
  }
}

// --- Menu ----------------------------------------------------------------------------------

let applicationMenu = null

/** The labels of a template, for the test to read and click. */
function describeItems(items) {
  return items.map((item) => ({
    label: item.label ?? item.role ?? item.type ?? '',
    ...(item.accelerator ? { accelerator: item.accelerator } : {}),
    ...(item.submenu ? { submenu: describeItems(item.submenu) } : {}),
  }))
}

export const Menu = {
  buildFromTemplate(template) {
    return { items: template }
  },
  setApplicationMenu(menu) {
    applicationMenu = menu
    parent.send({ type: 'menu', items: menu ? describeItems(menu.items) : [] })
  },
  getApplicationMenu() {
    return applicationMenu
  },
}

function clickMenu(path) {
  let items = applicationMenu?.items ?? []
  let item
  for (const label of path) {
    item = items.find((candidate) => (candidate.label ?? candidate.role) === label)
    if (!item) throw new Error(`no menu item ${path.join(' > ')}`)
    items = item.submenu ?? []
  }
  if (typeof item?.click !== 'function') throw new Error(`menu item ${path.join(' > ')} does nothing here`)
  item.click(item, BrowserWindow.getFocusedWindow(), {})
}

// --- ipcMain -----------------------------------------------------------------------------

class IpcMain extends EventEmitter {
  #handlers = new Map()

  handle(channel, listener) {
    if (this.#handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.#handlers.set(channel, listener)
  }

  removeHandler(channel) {
    this.#handlers.delete(channel)
  }

  /** As Electron: a missing handler or a thrown error rejects the renderer's invoke. */
  async _invoke(senderUrl, channel, args) {
    const handler = this.#handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return handler({ senderFrame: senderUrl === null ? null : { url: senderUrl } }, ...args)
  }
}

export const ipcMain = new IpcMain()

// --- protocol ----------------------------------------------------------------------------

const schemes = new Map()

export const protocol = {
  registerSchemesAsPrivileged(customSchemes) {
    if (app.isReady()) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready')
    for (const scheme of customSchemes) schemes.set(scheme.scheme, { privileges: scheme.privileges ?? {} })
    parent.send({
      type: 'schemes',
      schemes: customSchemes.map((s) => ({ scheme: s.scheme, privileges: s.privileges })),
    })
  },
  handle(scheme, handler) {
    const entry = schemes.get(scheme) ?? { privileges: {} }
    if (entry.handler) throw new Error(`The scheme '${scheme}' is already handled`)
    schemes.set(scheme, { ...entry, handler })
  },
  /**
   * A request from a page; `origin` is its Origin header in Electron's terms (Chromium sends
   * one on cross-origin fetches and XHRs, and on same-origin ones that are not GET or HEAD,
   * never on a no-cors load such as an <img>). A cross-origin one to a scheme that is not
   * corsEnabled is refused before the handler runs (electron/electron#51152); to a corsEnabled
   * one, the handler's answer must grant that origin, as Chromium's CORS check requires.
   */
  async _fetch({ url, method, headers, origin }) {
    const target = new URL(url)
    const entry = schemes.get(target.protocol.slice(0, -1))
    if (!entry?.handler) return { refused: 'ERR_UNKNOWN_URL_SCHEME' }
    const crossOrigin = origin !== undefined && origin !== `${target.protocol}//${target.host}`
    if (crossOrigin && !entry.privileges.corsEnabled) {
      return { refused: 'a cross-origin request to a scheme that is not corsEnabled' }
    }
    const response = await entry.handler(new Request(url, { method, headers }))
    const granted = response.headers.get('access-control-allow-origin')
    if (crossOrigin && granted !== '*' && granted !== origin) {
      return { refused: 'the answer does not grant this origin (CORS)' }
    }
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: new Uint8Array(await response.arrayBuffer()),
    }
  },
}

// --- session, dialog, shell -----------------------------------------------------------------

export const session = {
  defaultSession: {
    permissionRequestHandler: undefined,
    permissionCheckHandler: undefined,
    setPermissionRequestHandler(handler) {
      this.permissionRequestHandler = handler
    },
    setPermissionCheckHandler(handler) {
      this.permissionCheckHandler = handler
    },
  },
}

/** Answers the test scripted for the next dialogs of each kind, in order; a cancel when none is left. */
const dialogAnswers = { save: [], open: [] }

export const dialog = {
  async showSaveDialog(_window, options) {
    parent.send({ type: 'dialog', kind: 'save', options })
    return dialogAnswers.save.shift() ?? { canceled: true, filePath: '' }
  },
  async showOpenDialog(_window, options) {
    parent.send({ type: 'dialog', kind: 'open', options })
    return dialogAnswers.open.shift() ?? { canceled: true, filePaths: [] }
  },
  async showMessageBox(_window, options) {
    parent.send({ type: 'message-box', options })
    return { response: 0, checkboxChecked: false }
  },
  showErrorBox(title, content) {
    parent.send({ type: 'error-box', title, content })
  },
}

export const shell = {
  async openPath(path) {
    parent.send({ type: 'open-path', path })
    return fs.existsSync(path) ? '' : `Failed to open path: ${path}`
  },
}

// --- a test seam, not part of Electron --------------------------------------------------
// With MESHCACHE_SIM_HOLD_READS=<suffix>, opening a file whose name ends with it waits until
// the test sends 'release-reads': a test can look at the app while it is still reading its
// models from disk, without racing a clock.

const holdSuffix = process.env.MESHCACHE_SIM_HOLD_READS
let releaseReads = () => undefined
if (holdSuffix) {
  const released = new Promise((resolve) => {
    releaseReads = resolve
  })
  const open = fs.promises.open
  fs.promises.open = async (path, ...rest) => {
    if (String(path).endsWith(holdSuffix)) await released
    return open(path, ...rest)
  }
  syncBuiltinESMExports()
}

// --- the channel from the test process -------------------------------------------------

// When the test process goes away (its run stopped or crashed), so does the app, as
// Playwright's Electron launcher kills the app it started.
process.on('disconnect', () => process.exit(0))

process.on('message', async (message) => {
  const reply = (value, error) => parent.send({ type: 'reply', call: message.call, value, error })
  try {
    switch (message.type) {
      case 'invoke':
        reply(await ipcMain._invoke(message.senderUrl, message.channel, message.args))
        break
      case 'protocol':
        reply(await protocol._fetch(message.request))
        break
      case 'loaded': {
        const window = windows.get(message.window)
        window?.emit('_loaded')
        window?.emit('ready-to-show')
        break
      }
      case 'set-bounds':
        windows.get(message.window)?.setBounds(message.bounds)
        reply(true)
        break
      case 'menu-click':
        clickMenu(message.path)
        reply(true)
        break
      case 'release-reads':
        releaseReads()
        break
      case 'dialog-answer':
        dialogAnswers[message.kind].push(message.answer)
        break
      case 'quit':
        // Reads held by the seam would keep a quitting app waiting: they go first.
        releaseReads()
        app.quit()
        break
      default:
        reply(undefined, `unknown message ${message.type}`)
    }
  } catch (error) {
    reply(undefined, error instanceof Error ? error.message : String(error))
  }
})

// Electron is ready once the main module's top level has run.
setImmediate(() => app._start())
