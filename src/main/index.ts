/**
 * The Electron shell, kept thin: the single-instance lock, the window (its bounds kept), the
 * app menu, IPC registration, the app's own origin (meshcache://app), the log file and app
 * lifecycle. Everything else is plain Node (src/core) and is tested without Electron; this file
 * itself runs in tests under a stand-in `electron` module (e2e/electron-sim).
 */
import { join } from 'node:path'
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell } from 'electron'
import { type AppLog, openAppLog } from '../core/app-log'
import { readConfig } from '../core/config'
import { whenReady } from '../core/dispatch'
import { createAppService } from '../core/service/create-service'
import type { ModelService } from '../core/service/model-service'
import { type FolderLock, lockDataFolder } from '../core/storage/folder-lock'
import { APP_HOST, APP_SCHEME, appAddresses } from '../shared/addresses'
import type { AppStatus } from '../shared/contract'
import { toErrorPayload } from '../shared/errors'
import { type EventName, type EventPayload, eventChannel } from '../shared/operations'
import { checkDataFolder, picturePathIn, readPicture, unpackedPath } from './desktop-files'
import { forwardEvents, registerIpc } from './ipc'
import { localServerShell } from './local-server-shell'
import { appMenuTemplate } from './menu'
import { handleAppRequest } from './protocol'
import { saveModelHandler } from './save-model'
import { shellOperations } from './shell-operations'
import { type Bounds, loadWindowState, MIN_SIZE, placeWindow, saveWindowState } from './window-state'

// The renderer, its models and thumbnails are one origin: no CORS grant (corsEnabled) and no
// CSP scheme exception is needed, and the app never uses file:// (Electron's security checklist).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
])

const rendererDir = join(import.meta.dirname, '../renderer')
const devUrl = process.env.ELECTRON_RENDERER_URL
const windowUrl = devUrl ?? `${APP_SCHEME}://${APP_HOST}/index.html`

/** Only the app's own page may use its IPC: its origin (Vite's in development). */
function isTrustedUrl(url: string): boolean {
  try {
    const parsed = new URL(url)
    if (devUrl) return parsed.origin === new URL(devUrl).origin
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST
  } catch {
    return false
  }
}

function createWindow(bounds: Bounds): BrowserWindow {
  const window = new BrowserWindow({
    ...bounds,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    title: 'MeshCache',
    backgroundColor: '#11151c',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      navigateOnDragDrop: false,
    },
  })
  window.once('ready-to-show', () => window.show())
  // The app is one page: no navigation away from it, no new windows, no webviews.
  window.webContents.on('will-navigate', (event) => event.preventDefault())
  window.webContents.on('will-attach-webview', (event) => event.preventDefault())
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  void window.loadURL(windowUrl)
  return window
}

/** Saves the window's bounds when they change (after the user settles) and when it closes. */
function keepWindowState(window: BrowserWindow, file: string, log: AppLog): () => Promise<void> {
  let saving: Promise<void> = Promise.resolve()
  let timer: ReturnType<typeof setTimeout> | undefined
  const save = (): void => {
    clearTimeout(timer)
    if (window.isDestroyed()) return
    const state = { bounds: window.getNormalBounds(), maximized: window.isMaximized() }
    saving = saving
      .then(() => saveWindowState(file, state))
      .catch((error: unknown) => log.warn('window state not saved', { error: String(error) }))
  }
  const later = (): void => {
    clearTimeout(timer)
    timer = setTimeout(save, 400)
  }
  for (const event of ['resize', 'move', 'maximize', 'unmaximize'] as const) window.on(event as 'resize', later)
  window.on('close', save)
  return async () => {
    save()
    await saving
  }
}

async function start(): Promise<void> {
  const defaultSession = session.defaultSession
  // Notifications only (a finished job, while the window is not focused): no camera, microphone
  // or anything else.
  defaultSession.setPermissionRequestHandler((_contents, permission, callback) =>
    callback(permission === 'notifications'),
  )
  defaultSession.setPermissionCheckHandler((_contents, permission) => permission === 'notifications')
  const userData = app.getPath('userData')
  const log = await openAppLog(join(userData, 'logs'), 'desktop')
  // Logging never stops the app: where the log went instead is said once.
  if (log.problem) console.warn(`MeshCache: ${log.problem}`)
  log.info('MeshCache starting', { version: app.getVersion(), userData, log: log.file })

  const stateFile = join(userData, 'window-state.json')
  const saved = await loadWindowState(stateFile)
  const window = createWindow(
    placeWindow(
      saved?.bounds,
      screen.getAllDisplays().map((display) => display.workArea),
    ),
  )
  if (saved?.maximized) window.maximize()
  const flushWindowState = keepWindowState(window, stateFile, log)

  const send = <E extends EventName>(name: E, payload: EventPayload<E>): void => {
    if (!window.isDestroyed()) window.webContents.send(eventChannel(name), payload)
  }
  // The window shows at once; the service opens behind it (operations wait for it).
  let folderLock: FolderLock | undefined
  const ready: Promise<ModelService> = (async () => {
    const config = readConfig(process.env)
    // One MeshCache per data folder (a browser host may have it): the start-up screen says who.
    folderLock = await lockDataFolder(userData, 'the desktop app')
    // The models folder is where everything waited for is kept: one that cannot be used stops the start, visibly.
    await checkDataFolder(join(userData, 'models'))
    return createAppService({
      config: { ...config, dataDir: userData },
      workerPath: unpackedPath(join(import.meta.dirname, 'builtin-worker.js')),
      addresses: appAddresses,
      log: log.info,
    })
  })()
  let status: AppStatus = { startupError: null, desktop: true }
  ready.then(
    (service) => {
      log.info('service open')
      forwardEvents(service.events, (channel, payload) => {
        if (!window.isDestroyed()) window.webContents.send(channel, payload)
      })
    },
    (error: unknown) => {
      // In place of a modal box and a quit: the window says what failed and offers the way out.
      status = { startupError: toErrorPayload(error).message, desktop: true }
      log.error('start-up failed', { error: status.startupError })
      send('appStatus', status)
    },
  )

  const localServer = localServerShell({ file: join(userData, 'local-server.json'), log: log.info, service: ready })
  // After a start-up that failed there is no service to join: the error screen says why.
  ready.then(
    () => localServer.resume(),
    () => undefined,
  )

  const openPicture = async (path: string): Promise<void> => {
    try {
      send('openPicture', await readPicture(path))
      log.info('picture opened', { path })
    } catch (error) {
      log.warn('picture not opened', { path, error: toErrorPayload(error).message })
      void dialog.showMessageBox(window, { type: 'warning', message: toErrorPayload(error).message })
    }
  }
  const chooseAndOpenPicture = async (): Promise<void> => {
    const choice = await dialog.showOpenDialog(window, {
      title: 'Open picture',
      properties: ['openFile'],
      filters: [{ name: 'Pictures', extensions: ['png', 'jpg', 'jpeg', 'webp'] }],
    })
    const [path] = choice.filePaths
    if (!choice.canceled && path) await openPicture(path)
  }
  const openDataFolder = async (): Promise<void> => {
    const problem = await shell.openPath(userData)
    if (problem) log.warn('data folder not opened', { problem })
  }
  const openLogFile = async (): Promise<void> => {
    const problem = await shell.openPath(log.file)
    if (problem) log.warn('log file not opened', { problem })
  }

  // A second launch focuses this window and hands over the picture it was given.
  app.on('second-instance', (_event, argv) => {
    if (window.isMinimized()) window.restore()
    window.show()
    window.focus()
    const picture = picturePathIn(argv)
    log.info('second launch', { picture: picture ?? null })
    if (picture) void openPicture(picture)
  })

  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      appMenuTemplate(
        {
          openPicture: () => void chooseAndOpenPicture(),
          saveModel: () => send('menuCommand', { command: 'saveModel' }),
          openDataFolder: () => void openDataFolder(),
          openLogFile: () => void openLogFile(),
          about: () =>
            void dialog.showMessageBox(window, {
              type: 'info',
              title: 'About MeshCache',
              message: `MeshCache ${app.getVersion()}`,
              detail: `Electron ${process.versions.electron ?? 'unknown'} · Node ${process.versions.node}\nData folder: ${userData}`,
            }),
          quit: () => app.quit(),
        },
        { dev: devUrl !== undefined, mac: process.platform === 'darwin' },
      ),
    ),
  )

  registerIpc(
    ipcMain,
    {
      ...whenReady(ready),
      saveModel: saveModelHandler(
        async (key) => (await ready).model(key),
        (options) => dialog.showSaveDialog(window, options),
      ),
      ...shellOperations({
        status: () => status,
        actions: { openDataFolder, openLogFile, quit: () => app.quit() },
        localServer,
      }),
    },
    isTrustedUrl,
  )
  protocol.handle(APP_SCHEME, (request) => handleAppRequest(ready, rendererDir, request))

  // Save every index and the window's place before quitting, so the next start finds both.
  let closed = false
  app.on('before-quit', (event) => {
    if (closed) return
    event.preventDefault()
    void Promise.all([flushWindowState(), localServer.close(), ready.then((service) => service.close())])
      .then(() => folderLock?.release())
      .catch((error: unknown) => log.warn('quit: not everything was saved', { error: String(error) }))
      .finally(async () => {
        log.info('MeshCache quitting')
        await log.close()
        closed = true
        app.quit()
      })
  })
}

if (!app.requestSingleInstanceLock()) {
  // Another MeshCache has this data folder: it is told (second-instance) and this one leaves.
  app.quit()
} else {
  void app.whenReady().then(start)
  app.on('window-all-closed', () => app.quit())
}
