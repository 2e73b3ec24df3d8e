/**
 * The Electron shell, kept thin: window, IPC registration, the model protocol. Everything
 * else is plain Node (ModelService and below) and is tested without Electron.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron'
import { electronModelUrl, MODEL_SCHEME } from '../shared/channels'
import { createAppService } from './create-service'
import { forwardEvents, registerIpc } from './ipc'
import { handleModelRequest } from './protocol'

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

void app.whenReady().then(async () => {
  // No camera, microphone, notifications or anything else: the app needs no permissions.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  const service = await createAppService({
    workerPath: join(import.meta.dirname, 'builtin-worker.js'),
    hunyuanUrl: process.env.MESHCACHE_HUNYUAN_URL,
    modelUrl: electronModelUrl,
    dataDir: app.getPath('userData'),
  })
  // Write the disk index before quitting, so the next start finds every model.
  let flushed = false
  app.on('before-quit', (event) => {
    if (flushed) return
    event.preventDefault()
    void service.flush().finally(() => {
      flushed = true
      app.quit()
    })
  })
  protocol.handle(MODEL_SCHEME, (request) => handleModelRequest(service, request))
  const window = createWindow()
  registerIpc({
    ipcMain,
    service,
    isTrustedUrl,
    saveFile: async (bytes, suggestedName) => {
      const choice = await dialog.showSaveDialog(window, {
        title: 'Save model',
        defaultPath: suggestedName,
        filters: [{ name: 'glTF binary', extensions: ['glb'] }],
      })
      if (choice.canceled || !choice.filePath) return false
      await writeFile(choice.filePath, bytes)
      return true
    },
  })
  forwardEvents(service, (channel, payload) => {
    if (!window.isDestroyed()) window.webContents.send(channel, payload)
  })
})

app.on('window-all-closed', () => app.quit())
