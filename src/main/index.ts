/**
 * The Electron shell, kept thin: window, IPC registration, the resource protocol, app
 * lifecycle. Everything else is plain Node (src/core) and is tested without Electron; this
 * file itself runs in tests under a stand-in `electron` module (e2e/electron-sim).
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron'
import { readConfig } from '../core/config'
import { whenReady } from '../core/dispatch'
import { createAppService } from '../core/service/create-service'
import { electronAddresses, MODEL_SCHEME } from '../shared/addresses'
import { forwardEvents, registerIpc } from './ipc'
import { handleResourceRequest } from './protocol'
import { saveModelHandler } from './save-model'

protocol.registerSchemesAsPrivileged([
  { scheme: MODEL_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
])

const rendererFile = join(import.meta.dirname, '../renderer/index.html')
const devUrl = process.env.ELECTRON_RENDERER_URL

function isTrustedUrl(url: string): boolean {
  if (devUrl) return new URL(url).origin === new URL(devUrl).origin
  return url === pathToFileURL(rendererFile).href
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 640,
    show: false,
    title: 'MeshCache',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  })
  window.once('ready-to-show', () => window.show())
  // The app is one page: no navigation away from it, no new windows.
  window.webContents.on('will-navigate', (event) => event.preventDefault())
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  if (devUrl) void window.loadURL(devUrl)
  else void window.loadFile(rendererFile)
  return window
}

void app.whenReady().then(() => {
  // No camera, microphone, notifications or anything else: the app needs no permissions.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  let config: ReturnType<typeof readConfig>
  try {
    config = readConfig(process.env)
  } catch (error) {
    dialog.showErrorBox('MeshCache could not start', error instanceof Error ? error.message : String(error))
    app.quit()
    return
  }
  const ready = createAppService({
    config: { ...config, dataDir: app.getPath('userData') },
    workerPath: join(import.meta.dirname, 'builtin-worker.js'),
    addresses: electronAddresses,
  })
  const window = createWindow()
  const saveModel = saveModelHandler(
    async (key) => (await ready).model(key),
    (options) => dialog.showSaveDialog(window, options),
  )
  registerIpc(ipcMain, { ...whenReady(ready), saveModel }, isTrustedUrl)
  protocol.handle(MODEL_SCHEME, async (request) => handleResourceRequest(await ready, request))
  void ready.then(
    (service) =>
      forwardEvents(service.events, (channel, payload) => {
        if (!window.isDestroyed()) window.webContents.send(channel, payload)
      }),
    (error: unknown) => {
      dialog.showErrorBox('MeshCache could not start', error instanceof Error ? error.message : String(error))
      app.quit()
    },
  )
  // Save every index before quitting, so the next start finds every model where it was.
  let closed = false
  app.on('before-quit', (event) => {
    if (closed) return
    event.preventDefault()
    void ready
      .then((service) => service.close())
      .catch(() => undefined)
      .finally(() => {
        closed = true
        app.quit()
      })
  })
})

app.on('window-all-closed', () => app.quit())
