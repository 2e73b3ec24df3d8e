import { describe, expect, it, vi } from 'vitest'
import '../../e2e/electron-sim/renderer-fake.js'
import { eventChannel, ipcChannel, OPERATION_NAMES } from '../../src/shared/operations'

/** The preload's source (the built bundle is exercised by the conformance suite); here for coverage of its lines. */
const invoked: [string, unknown[]][] = []
const fake = globalThis.meshcacheRendererFake.createElectron({
  invoke: (channel, args) => {
    invoked.push([channel, args])
    return channel === ipcChannel('stats')
      ? { ok: true, value: { hits: 3 } }
      : { ok: false, error: { code: 'NOT_FOUND', message: 'gone' } }
  },
})
vi.mock('electron', () => fake.electron)

describe('preload (source)', () => {
  it('exposes exactly the operation table, modelUrl and subscribe', async () => {
    await import('../../src/preload/index')
    const api = fake.exposed.api as Record<string, (...args: unknown[]) => unknown>
    expect(Object.keys(api).sort()).toEqual([...OPERATION_NAMES, 'modelUrl', 'subscribe'].sort())
    expect(await api.stats?.()).toEqual({ hits: 3 })
    await expect(api.deleteEntry?.({ key: 'k' })).rejects.toThrow('[NOT_FOUND] gone')
    expect(invoked.map(([channel]) => channel)).toEqual([ipcChannel('stats'), ipcChannel('deleteEntry')])
    expect(api.modelUrl?.('ab')).toBe('/models/ab.glb')
    const seen: unknown[] = []
    const off = api.subscribe?.('progress', (payload: unknown) => seen.push(payload)) as () => void
    fake.emit(eventChannel('progress'), { requestId: 'r' })
    off()
    fake.emit(eventChannel('progress'), { requestId: 's' })
    expect(seen).toEqual([{ requestId: 'r' }])
  })
})

describe('preload (built)', () => {
  it('carries channel names, not the schemas: validation stays in the main process', async () => {
    const { readFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const bundle = readFileSync(join(import.meta.dirname, '../../out/preload/index.cjs'), 'utf8')
    for (const name of OPERATION_NAMES) expect(bundle).toContain(`"${name}"`)
    // zod's own error text never appears in a bundle without zod.
    expect(bundle).not.toMatch(/ZodError|safeParse/)
    expect(bundle.length).toBeLessThan(16 * 1024)
  })
})
