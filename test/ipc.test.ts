import { describe, expect, it, vi } from 'vitest'
import { BuiltinGenerator } from '../src/main/generation/builtin/builtin-generator'
import { forwardEvents, registerIpc, safeFileName } from '../src/main/ipc'
import { handleModelRequest } from '../src/main/protocol'
import { ModelService } from '../src/main/service'
import { CHANNELS, EVENTS, electronModelUrl } from '../src/shared/channels'
import { FakeIpcMain } from './support/fake-ipc-main'
import { BUILTIN_WORKER, fixture } from './support/fixtures'

const APP_URL = 'file:///opt/meshcache/out/renderer/index.html'

function setup() {
  const ipcMain = new FakeIpcMain()
  const service = new ModelService({
    generators: [new BuiltinGenerator({ workerPath: BUILTIN_WORKER })],
    modelUrl: electronModelUrl,
  })
  const saveFile = vi.fn(async (_bytes: Uint8Array, _name: string) => true)
  const unregister = registerIpc({ ipcMain, service, isTrustedUrl: (url) => url === APP_URL, saveFile })
  return { ipcMain, service, saveFile, unregister }
}

const request = { image: fixture('triposr-robot'), prompt: 'robot', quality: 'draft', seed: 3 }

describe('IPC registration (fake ipcMain)', () => {
  it('registers one handler per contract operation and removes them all', () => {
    const { ipcMain, unregister } = setup()
    expect(ipcMain.channels.sort()).toEqual(Object.values(CHANNELS).sort())
    unregister()
    expect(ipcMain.channels).toEqual([])
  })

  it('generates through IPC and answers plain data', async () => {
    const { ipcMain, service } = setup()
    const result = (await ipcMain.invoke(APP_URL, CHANNELS.generate, request)) as {
      ok: true
      value: { key: string; cache: string; modelUrl: string }
    }
    expect(result.ok).toBe(true)
    expect(result.value.cache).toBe('miss')
    expect(result.value.modelUrl).toBe(`meshcache://model/${result.value.key}`)
    const stats = (await ipcMain.invoke(APP_URL, CHANNELS.stats)) as { ok: true; value: { misses: number } }
    expect(stats).toEqual({ ok: true, value: service.stats() })
  })

  it('refuses a foreign sender and a missing frame', async () => {
    const { ipcMain, service } = setup()
    for (const url of ['https://evil.example/', 'file:///tmp/other.html', null]) {
      expect(await ipcMain.invoke(url, CHANNELS.clear)).toEqual({
        ok: false,
        error: { code: 'FORBIDDEN', message: 'This page may not use MeshCache.' },
      })
    }
    expect(await ipcMain.invoke('https://evil.example/', CHANNELS.generate, request)).toMatchObject({ ok: false })
    expect(service.stats().misses).toBe(0)
  })

  it('refuses malformed payloads with a clear error and changes nothing', async () => {
    const { ipcMain, service } = setup()
    const cases: [string, unknown[]][] = [
      [CHANNELS.generate, []],
      [CHANNELS.generate, [{ image: 'not bytes' }]],
      [CHANNELS.generate, [request, 'extra']],
      [CHANNELS.setConfig, [{ maxItems: -5 }]],
      [CHANNELS.deleteEntry, ['../../etc/passwd']],
      [CHANNELS.saveModel, ['zz', 'name']],
      [CHANNELS.stats, ['unexpected']],
      [CHANNELS.warm, [[]]],
    ]
    for (const [channel, args] of cases) {
      const answer = (await ipcMain.invoke(APP_URL, channel, ...args)) as { ok: boolean; error: { code: string } }
      expect(answer.ok, channel).toBe(false)
      expect(answer.error.code).toBe('INVALID_REQUEST')
    }
    expect(service.getConfig().maxItems).toBe(1000)
    expect(service.stats().misses).toBe(0)
  })

  it('serializes errors from the service as code and message', async () => {
    const { ipcMain } = setup()
    const answer = await ipcMain.invoke(APP_URL, CHANNELS.generate, { ...request, image: new Uint8Array([1, 2]) })
    expect(answer).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FORMAT', message: 'This file is not a PNG, JPEG or WebP image.' },
    })
  })

  it('saves a cached model under a safe file name, and says when it is gone', async () => {
    const { ipcMain, service, saveFile } = setup()
    const { key } = await service.generate(request)
    expect(await ipcMain.invoke(APP_URL, CHANNELS.saveModel, key, '../robot: v1')).toEqual({ ok: true, value: true })
    expect(saveFile).toHaveBeenCalledOnce()
    const [bytes, name] = saveFile.mock.calls[0] as [Uint8Array, string]
    expect(name).toBe('_robot_ v1.glb')
    expect(bytes.byteLength).toBe((await service.model(key))?.byteLength)
    service.clear()
    expect(await ipcMain.invoke(APP_URL, CHANNELS.saveModel, key, 'robot')).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    })
  })

  it('forwards progress and cache changes as small messages, until unsubscribed', async () => {
    const { service } = setup()
    const sent: [string, unknown][] = []
    const stop = forwardEvents(service, (channel, payload) => sent.push([channel, payload]))
    await service.generate({ ...request, requestId: 'r1' })
    await Promise.resolve()
    expect(sent.some(([c, p]) => c === EVENTS.progress && (p as { requestId: string }).requestId === 'r1')).toBe(true)
    expect(sent.some(([c]) => c === EVENTS.cacheChanged)).toBe(true)
    stop()
    const count = sent.length
    service.clear()
    await Promise.resolve()
    expect(sent).toHaveLength(count)
  })

  it('reaches every operation of the contract', async () => {
    const { ipcMain, service } = setup()
    const call = async (channel: string, ...args: unknown[]): Promise<unknown> => {
      const answer = (await ipcMain.invoke(APP_URL, channel, ...args)) as {
        ok: boolean
        value?: unknown
        error?: unknown
      }
      expect(answer.ok, `${channel} ${JSON.stringify(answer.error)}`).toBe(true)
      return answer.value
    }
    const { keys } = (await call(CHANNELS.warm, [request])) as { keys: string[] }
    for (let i = 0; i < 400 && service.stats().currentItems === 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(((await call(CHANNELS.entries)) as { total: number }).total).toBe(1)
    expect(((await call(CHANNELS.entries, { limit: 1 })) as { items: unknown[] }).items).toHaveLength(1)
    expect(await call(CHANNELS.getConfig)).toEqual(service.getConfig())
    expect(await call(CHANNELS.setConfig, { maxItems: 5 })).toMatchObject({ maxItems: 5 })
    expect(await call(CHANNELS.backends)).toEqual([expect.objectContaining({ id: 'builtin', isDefault: true })])
    expect(await call(CHANNELS.cancel, 'nothing-running')).toBe(false)
    expect(await call(CHANNELS.deleteEntry, keys[0])).toBe(true)
    expect(await call(CHANNELS.clear)).toEqual({ removed: 0, removedFromDisk: 0 })
  })

  it('makes safe file names', () => {
    expect(safeFileName('chair')).toBe('chair.glb')
    expect(safeFileName('a/b\\c.GLB')).toBe('a_b_c.GLB')
    expect(safeFileName('...')).toBe('model.glb')
  })
})

describe('meshcache:// protocol handler', () => {
  it('serves model bytes by key and nothing else', async () => {
    const { service } = setup()
    const { key } = await service.generate(request)
    const ok = await handleModelRequest(service, { url: `meshcache://model/${key}`, method: 'GET' })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toBe('model/gltf-binary')
    const body = new Uint8Array(await ok.arrayBuffer())
    expect(Buffer.from(body.subarray(0, 4)).toString('latin1')).toBe('glTF')
    expect((await handleModelRequest(service, { url: `meshcache://model/${key}.glb`, method: 'GET' })).status).toBe(200)
    const head = await handleModelRequest(service, { url: `meshcache://model/${key}`, method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body).toBeNull()
    for (const url of [
      `meshcache://model/${'0'.repeat(64)}`,
      'meshcache://model/../../etc/passwd',
      'meshcache://model/%2e%2e%2fpackage.json',
      `meshcache://other/${key}`,
      `meshcache://model/${key.toUpperCase()}`,
      'not a url',
    ]) {
      expect([400, 404]).toContain((await handleModelRequest(service, { url, method: 'GET' })).status)
    }
    expect((await handleModelRequest(service, { url: `meshcache://model/${key}`, method: 'POST' })).status).toBe(405)
  })
})
