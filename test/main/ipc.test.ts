import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { whenReady } from '../../src/core/dispatch'
import { forwardEvents, registerIpc } from '../../src/main/ipc'
import { handleAppRequest } from '../../src/main/protocol'
import { safeFileName } from '../../src/main/safe-file-name'
import { saveModelHandler } from '../../src/main/save-model'
import { appAddresses } from '../../src/shared/addresses'
import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_HEADER } from '../../src/shared/csp'
import { eventChannel, ipcChannel, OPERATION_NAMES, SERVICE_EVENT_NAMES } from '../../src/shared/operations'
import { FakeIpcMain } from '../support/fake-ipc-main'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { APP_ORIGIN, APP_URL, desktopShell, makeService, RENDERER_DIR } from '../support/stacks'
import { until } from '../support/until'

const request = { image: fixture('triposr-robot'), prompt: 'robot', quality: 'draft', seed: 3 }

async function setup() {
  const ipcMain = new FakeIpcMain()
  const service = await makeService({ generators: [new GatedGenerator()], disk: false }, appAddresses)
  const home = mkdtempSync(join(tmpdir(), 'meshcache-home-'))
  const dialog = vi.fn(async (options: { defaultPath: string }) => ({
    canceled: false,
    filePath: join(home, options.defaultPath),
  }))
  const saveModel = saveModelHandler((key) => service.model(key), dialog)
  const unregister = registerIpc(
    ipcMain,
    { ...whenReady(Promise.resolve(service)), saveModel, ...desktopShell },
    (url) => url === APP_URL,
  )
  return { ipcMain, service, unregister, home, dialog }
}

describe('IPC registration', () => {
  it('registers one handler per operation of the table and removes them all', async () => {
    const { ipcMain, unregister } = await setup()
    expect(ipcMain.channels.sort()).toEqual(OPERATION_NAMES.map(ipcChannel).sort())
    unregister()
    expect(ipcMain.channels).toEqual([])
  })

  it('refuses a foreign sender and a missing frame, before looking at the arguments', async () => {
    const { ipcMain, service } = await setup()
    for (const url of ['https://evil.example/', 'file:///tmp/other.html', null]) {
      expect(await ipcMain.invoke(url, ipcChannel('clear'), { scope: 'all' })).toEqual({
        ok: false,
        error: { code: 'FORBIDDEN', message: 'This page may not use MeshCache.' },
      })
    }
    expect(await ipcMain.invoke('https://evil.example/', ipcChannel('generate'), request)).toMatchObject({ ok: false })
    expect((await service.stats()).misses).toBe(0)
  })

  it('takes exactly one argument', async () => {
    const { ipcMain } = await setup()
    expect(await ipcMain.invoke(APP_URL, ipcChannel('stats'), undefined, 'extra')).toEqual({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'stats takes one argument.' },
    })
  })

  it('serializes errors from the service as code and message', async () => {
    const { ipcMain } = await setup()
    const answer = await ipcMain.invoke(APP_URL, ipcChannel('generate'), { ...request, image: new Uint8Array([1, 2]) })
    expect(answer).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FORMAT', message: 'This file is not a PNG, JPEG or WebP image.' },
    })
  })

  it('saves a cached model under a safe file name, and says when it is gone or the user cancels', async () => {
    const { ipcMain, service, home, dialog } = await setup()
    const { key } = await service.generate({ ...request, quality: 'draft', reuse: 'exact', texture: false })
    expect(await ipcMain.invoke(APP_URL, ipcChannel('saveModel'), { key, name: '../robot: v1' })).toEqual({
      ok: true,
      value: { saved: true },
    })
    expect(readdirSync(home)).toEqual(['_robot_ v1.glb'])
    expect(readFileSync(join(home, '_robot_ v1.glb'))).toEqual(Buffer.from((await service.model(key)) ?? []))
    dialog.mockResolvedValueOnce({ canceled: true, filePath: '' })
    expect(await ipcMain.invoke(APP_URL, ipcChannel('saveModel'), { key, name: 'robot' })).toEqual({
      ok: true,
      value: { saved: false },
    })
    await service.clear({ scope: 'all', kept: false })
    expect(await ipcMain.invoke(APP_URL, ipcChannel('saveModel'), { key, name: 'robot' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    })
  })

  it('forwards every event of the table as a small message, until unsubscribed', async () => {
    const { service } = await setup()
    const sent: [string, unknown][] = []
    const stop = forwardEvents(service.events, (channel, payload) => sent.push([channel, payload]))
    // A queued job: its changes, its request's progress (named by the job's id) and the cache's change.
    const { jobs } = await service.submitJobs({
      requests: [{ ...request, quality: 'draft', reuse: 'exact', texture: false }],
    })
    const id = jobs[0]?.id
    await until(() => service.queue.list().jobs[0]?.state === 'done', 'the job is done')
    await Promise.resolve()
    const channels = new Set(sent.map(([channel]) => channel))
    expect([...channels].sort()).toEqual(SERVICE_EVENT_NAMES.map(eventChannel).sort())
    expect(sent.some(([c, p]) => c === eventChannel('progress') && (p as { requestId: string }).requestId === id)).toBe(
      true,
    )
    stop()
    const count = sent.length
    await service.clear({ scope: 'all', kept: false })
    await Promise.resolve()
    expect(sent).toHaveLength(count)
  })

  it('answers early calls once the service is ready (the window shows before the disk index is read)', async () => {
    const { service } = await setup()
    let open!: (value: typeof service) => void
    const ready = new Promise<typeof service>((resolve) => {
      open = resolve
    })
    const ipcMain = new FakeIpcMain()
    registerIpc(ipcMain, { ...whenReady(ready), saveModel: vi.fn(), ...desktopShell }, (url) => url === APP_URL)
    const early = ipcMain.invoke(APP_URL, ipcChannel('getConfig'))
    open(service)
    expect(await early).toMatchObject({ ok: true, value: { maxItems: 1000 } })
  })

  it('makes safe file names', () => {
    expect(safeFileName('chair')).toBe('chair.glb')
    expect(safeFileName('a/b\\c.GLB')).toBe('a_b_c.glb')
    expect(safeFileName('robot.glb', 'obj')).toBe('robot.obj')
    expect(safeFileName('...')).toBe('model.glb')
  })
})

describe('the meshcache://app origin (protocol handler)', () => {
  const at = (path: string): string => new URL(path, APP_ORIGIN).href
  const get = (source: Parameters<typeof handleAppRequest>[0], url: string, method = 'GET') =>
    handleAppRequest(source, RENDERER_DIR, { url, method })

  it('serves model bytes and thumbnails by key, same-origin (no CORS grant)', async () => {
    const { service } = await setup()
    const result = await service.generate({ ...request, quality: 'draft', reuse: 'exact', texture: false })
    const { key } = result
    const ok = await get(service, at(result.modelUrl))
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toBe('model/gltf-binary')
    expect(ok.headers.get('access-control-allow-origin')).toBeNull()
    const body = new Uint8Array(await ok.arrayBuffer())
    expect(Buffer.from(body.subarray(0, 4)).toString('latin1')).toBe('glTF')
    const thumbnail = await get(service, at(appAddresses('thumbnail', key)))
    expect(thumbnail.headers.get('content-type')).toBe('image/webp')
    const head = await get(service, at(result.modelUrl), 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body).toBeNull()
    for (const url of [
      at(appAddresses('model', '0'.repeat(64))),
      `meshcache://other/models/${key}.glb`,
      `meshcache://app/models/${key.toUpperCase()}.glb`,
      `meshcache://app/models/${key}.webp`,
      'not a url',
    ]) {
      expect([400, 404]).toContain((await get(service, url)).status)
    }
    expect((await get(service, at(result.modelUrl), 'POST')).status).toBe(405)
  })

  it('serves the built renderer with its CSP, confined to its folder', async () => {
    const { service } = await setup()
    const page = await get(service, 'meshcache://app/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY_HEADER)
    const html = await page.text()
    expect(html).toContain(`content="${CONTENT_SECURITY_POLICY}"`)
    const script = /src="\.?(\/assets\/[^"]+\.js)"/.exec(html)?.[1] as string
    expect((await get(service, at(script))).headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    for (const url of [
      'meshcache://app/../package.json',
      'meshcache://app/%2e%2e/%2e%2e/package.json',
      'meshcache://app/assets/%2e%2e%2f%2e%2e%2fmain%2findex.js',
      'meshcache://app/index.html%00.png',
      'meshcache://app/nothing-here.js',
      'meshcache://app/%E0%A4%A',
    ]) {
      expect((await get(service, url)).status, url).toBe(404)
    }
  })

  it('serves the page while the service is still opening, and no model when it failed to start', async () => {
    const never = new Promise<never>(() => undefined)
    expect((await get(never, 'meshcache://app/index.html')).status).toBe(200)
    const failed = Promise.reject(new Error('no data folder'))
    failed.catch(() => undefined)
    expect((await get(failed, at(appAddresses('model', 'a'.repeat(64))))).status).toBe(404)
  })
})
