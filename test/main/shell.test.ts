import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { openAppLog } from '../../src/core/app-log'
import { checkDataFolder, picturePathIn, readPicture, unpackedPath } from '../../src/main/desktop-files'
import { appMenuTemplate, type MenuItemSpec } from '../../src/main/menu'
import { shellOperations } from '../../src/main/shell-operations'
import { loadWindowState, MIN_SIZE, placeWindow, saveWindowState } from '../../src/main/window-state'
import { STOPPED_LOCAL_SERVER } from '../../src/shared/contract'
import { MAX_UPLOAD_BYTES } from '../../src/shared/limits'
import { FIXTURE_DIR } from '../support/fixtures'

const folder = (): string => mkdtempSync(join(tmpdir(), 'meshcache-shell-'))
const screen = { x: 0, y: 0, width: 1920, height: 1080 }

describe('window placement', () => {
  it('centres a first window on the first display', () => {
    expect(placeWindow(undefined, [screen])).toEqual({ x: 320, y: 140, width: 1280, height: 800 })
    expect(placeWindow(undefined, [{ x: 0, y: 0, width: 1024, height: 700 }])).toEqual({
      x: 0,
      y: 0,
      width: 1024,
      height: 700,
    })
  })

  it('keeps saved bounds that are on screen, and brings back ones that are not', () => {
    const saved = { x: 100, y: 50, width: 1000, height: 700 }
    expect(placeWindow(saved, [screen])).toEqual(saved)
    // A display that was unplugged: onto the one there is, shrunk to fit.
    expect(placeWindow({ x: 2500, y: -900, width: 2600, height: 700 }, [screen])).toEqual({
      x: 0,
      y: 0,
      width: 1920,
      height: 700,
    })
    // Never smaller than the window may be.
    expect(placeWindow({ x: 10, y: 10, width: 200, height: 100 }, [screen])).toMatchObject(MIN_SIZE)
  })

  it('chooses the display the saved bounds overlap most', () => {
    const right = { x: 1920, y: 0, width: 2560, height: 1440 }
    expect(placeWindow({ x: 2000, y: 100, width: 1200, height: 800 }, [screen, right])).toEqual({
      x: 2000,
      y: 100,
      width: 1200,
      height: 800,
    })
  })

  it('saves and reads its state; a missing or damaged file is no state', async () => {
    const file = join(folder(), 'window-state.json')
    expect(await loadWindowState(file)).toBeUndefined()
    const state = { bounds: { x: 1, y: 2, width: 1000, height: 700 }, maximized: true }
    await saveWindowState(file, state)
    expect(await loadWindowState(file)).toEqual(state)
    writeFileSync(file, '{"bounds": {"x": "left"}}')
    expect(await loadWindowState(file)).toBeUndefined()
    writeFileSync(file, 'not json')
    expect(await loadWindowState(file)).toBeUndefined()
  })
})

describe('the application menu', () => {
  const actions = {
    openPicture: vi.fn(),
    saveModel: vi.fn(),
    openDataFolder: vi.fn(),
    openLogFile: vi.fn(),
    about: vi.fn(),
    quit: vi.fn(),
  }
  const find = (items: MenuItemSpec[], ...path: string[]): MenuItemSpec | undefined => {
    let item: MenuItemSpec | undefined
    let level = items
    for (const label of path) {
      item = level.find((each) => (each.label ?? each.role) === label)
      level = (item?.submenu as MenuItemSpec[] | undefined) ?? []
    }
    return item
  }

  it('has File, Edit, View and Help, wired to the window’s own actions', () => {
    const menu = appMenuTemplate(actions, { dev: false, mac: false })
    expect(menu.map((item) => item.label)).toEqual(['File', 'Edit', 'View', 'Help'])
    for (const [path, action] of [
      [['File', 'Open picture…'], actions.openPicture],
      [['File', 'Save model…'], actions.saveModel],
      [['File', 'Quit'], actions.quit],
      [['Help', 'Open data folder'], actions.openDataFolder],
      [['Help', 'Open log file'], actions.openLogFile],
      [['Help', 'About MeshCache'], actions.about],
    ] as const) {
      const click = find(menu, ...path)?.click as (() => void) | undefined
      expect(click, path.join(' > ')).toBeTypeOf('function')
      click?.()
      expect(action).toHaveBeenCalledTimes(1)
    }
    expect(find(menu, 'Edit', 'paste')).toBeDefined()
    expect(find(menu, 'View', 'zoomIn')).toBeDefined()
    expect(find(menu, 'View', 'reload')).toBeUndefined()
  })

  it('adds reload and the developer tools in development, and the app menu on macOS', () => {
    const menu = appMenuTemplate(actions, { dev: true, mac: true })
    expect(menu[0]?.role).toBe('appMenu')
    expect(find(menu, 'View', 'reload')).toBeDefined()
    expect(find(menu, 'View', 'toggleDevTools')).toBeDefined()
  })
})

describe('files the desktop shell reads', () => {
  it('finds the picture a launch names on its command line', () => {
    const robot = join(FIXTURE_DIR, 'triposr-robot.png')
    const chair = join(FIXTURE_DIR, 'triposr-chair.png')
    expect(picturePathIn(['/usr/bin/meshcache', '.', robot, '--flag'])).toBe(robot)
    expect(picturePathIn([robot, chair])).toBe(chair)
    expect(picturePathIn(['/nowhere/picture.png', join(FIXTURE_DIR, 'SOURCES.md')])).toBeUndefined()
  })

  it('reads a picture, and refuses one larger than an upload may be', async () => {
    const robot = join(FIXTURE_DIR, 'triposr-robot.png')
    const picture = await readPicture(robot)
    expect(picture.name).toBe('triposr-robot.png')
    expect(Buffer.from(picture.bytes).equals(readFileSync(robot))).toBe(true)
    const huge = join(folder(), 'huge.png')
    writeFileSync(huge, '')
    truncateSync(huge, MAX_UPLOAD_BYTES + 1)
    await expect(readPicture(huge)).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' })
  })

  it('finds the worker outside the packed archive, and leaves an unpacked path alone', () => {
    expect(unpackedPath('/opt/MeshCache/resources/app.asar/out/main/builtin-worker.js')).toBe(
      '/opt/MeshCache/resources/app.asar.unpacked/out/main/builtin-worker.js',
    )
    expect(unpackedPath('/work/meshcache/out/main/builtin-worker.js')).toBe(
      '/work/meshcache/out/main/builtin-worker.js',
    )
  })

  it('accepts a data folder it can write, and says why it cannot use one', async () => {
    const root = folder()
    await checkDataFolder(join(root, 'new', 'models'))
    writeFileSync(join(root, 'models'), 'in the way')
    await expect(checkDataFolder(join(root, 'models'))).rejects.toThrow(
      /cannot use its data folder .*a file of that name is in the way/,
    )
  })
})

describe('the shell operations', () => {
  it('answers the status and runs the chosen action', async () => {
    const actions = { openDataFolder: vi.fn(), openLogFile: vi.fn(), quit: vi.fn() }
    const stopped = STOPPED_LOCAL_SERVER
    const localServer = { status: () => stopped, start: vi.fn(async () => stopped), stop: vi.fn(async () => stopped) }
    const operations = shellOperations({
      status: () => ({ startupError: 'broken', desktop: true }),
      actions,
      localServer,
    })
    expect(await operations.localServer(undefined, {})).toBe(stopped)
    await operations.stopLocalServer(undefined, {})
    expect(localServer.stop).toHaveBeenCalledTimes(1)
    expect(await operations.appStatus(undefined, {})).toEqual({ startupError: 'broken', desktop: true })
    expect(await operations.desktop({ action: 'openLogFile' }, {})).toEqual({ done: true })
    expect(actions.openLogFile).toHaveBeenCalledTimes(1)
    expect(actions.quit).not.toHaveBeenCalled()
  })
})

describe('the app log', () => {
  it('writes pino lines under the folder, and falls back to the temporary folder when it cannot', async () => {
    const root = folder()
    const log = await openAppLog(join(root, 'logs'), 'desktop')
    log.info('generated', { key: 'abc', ms: 12 })
    log.error('start-up failed', { error: 'boom' })
    await log.close()
    expect(log.file.startsWith(join(root, 'logs', 'desktop'))).toBe(true)
    const lines = readFileSync(log.file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toMatchObject([
      { level: 30, msg: 'generated', key: 'abc', ms: 12, process: 'desktop' },
      { level: 50, msg: 'start-up failed', error: 'boom' },
    ])
    mkdirSync(join(root, 'blocked'))
    writeFileSync(join(root, 'blocked', 'logs'), 'a file where the folder should be')
    const fallback = await openAppLog(join(root, 'blocked', 'logs'), 'desktop')
    expect(fallback.fellBack).toBe(true)
    expect(fallback.file.startsWith(join(tmpdir(), 'meshcache-logs'))).toBe(true)
    await fallback.close()
  })
})
