// FAKE of the `electron` module for the main process: the stand-in that lets the built
// Electron main (out/main/index.js) run unchanged in plain Node, because Electron's binary
// cannot be downloaded here. It follows Electron's API for what MeshCache uses: app,
// BrowserWindow, ipcMain, protocol, session and dialog. Each window is a Playwright page in
// the test process, which talks to this process over Node's IPC channel (see host.ts): the
// page's ipcRenderer.invoke arrives here as an 'invoke' message and is answered by the real
// ipcMain handler; its meshcache:// fetches arrive as 'protocol' messages and are answered by
// the real protocol handler. Loaded by register.mjs in place of the real module.
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
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
    // Never the user's real folder: each run of a test names its own.
    const folder = process.env.MESHCACHE_SIM_USER_DATA
    if (!folder) throw new Error('the electron stand-in needs MESHCACHE_SIM_USER_DATA (a per-run folder)')
    return folder
  }

  /** As Electron: 'before-quit' (preventable), then windows close, 'will-quit', 'quit', exit. */
  quit() {
    if (this.#quitting) return
    const before = preventableEvent()
    this.emit('before-quit', before)
    if (before.defaultPrevented) return
    this.#quitting = true
    for (const window of BrowserWindow.getAllWindows()) window.destroy()
    const will = preventableEvent()
    this.emit('will-quit', will)
    this.emit('quit', will, 0)
    parent.send({ type: 'exited' })
    setImmediate(() => process.exit(0))
  }
}

export const app = new App()

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

  static getAllWindows() {
    return [...windows.values()]
  }

  constructor(options = {}) {
    super()
    if (!app.isReady()) throw new Error('Cannot create BrowserWindow before app is ready')
    this.id = nextWindowId++
    this.options = options
    this.webContents = new WebContents(this)
    this.visible = options.show !== false
    windows.set(this.id, this)
    parent.send({ type: 'window', window: this.id, webPreferences: options.webPreferences ?? {} })
  }

  loadFile(path) {
    return this.loadURL(pathToFileURL(path).href)
  }

  loadURL(url) {
    parent.send({ type: 'load', window: this.id, url })
    return new Promise((resolve) => this.once('_loaded', resolve))
  }

  show() {
    this.visible = true
    parent.send({ type: 'show', window: this.id })
  }

  isDestroyed() {
    return this.#destroyed
  }

  destroy() {
    if (this.#destroyed) return
    this.#destroyed = true
    windows.delete(this.id)
    this.emit('closed')
    if (windows.size === 0) app.emit('window-all-closed')
  }
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
    for (const scheme of customSchemes)
      schemes.set(scheme.scheme, { privileges: scheme.privileges, handler: undefined })
  },
  handle(scheme, handler) {
    const entry = schemes.get(scheme) ?? { privileges: {} }
    if (entry.handler) throw new Error(`The scheme '${scheme}' is already handled`)
    schemes.set(scheme, { ...entry, handler })
  },
  async _fetch(url, method) {
    const entry = schemes.get(new URL(url).protocol.slice(0, -1))
    if (!entry?.handler) return { status: 404, headers: {}, body: new Uint8Array() }
    const response = await entry.handler(new Request(url, { method }))
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: new Uint8Array(await response.arrayBuffer()),
    }
  },
}

// --- session, dialog ---------------------------------------------------------------------

export const session = {
  defaultSession: {
    permissionRequestHandler: undefined,
    setPermissionRequestHandler(handler) {
      this.permissionRequestHandler = handler
    },
  },
}

/** Answers the test scripted for the next save dialogs, in order; a cancel when none is left. */
const dialogAnswers = []

export const dialog = {
  async showSaveDialog(_window, options) {
    parent.send({ type: 'dialog', options })
    return dialogAnswers.shift() ?? { canceled: true, filePath: '' }
  },
  showErrorBox(title, content) {
    parent.send({ type: 'error-box', title, content })
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
        reply(await protocol._fetch(message.url, message.method))
        break
      case 'loaded': {
        const window = windows.get(message.window)
        window?.emit('_loaded')
        window?.emit('ready-to-show')
        break
      }
      case 'release-reads':
        releaseReads()
        break
      case 'dialog-answer':
        dialogAnswers.push(message.answer)
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
