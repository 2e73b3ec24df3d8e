import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import type { HunyuanServer } from '../../src/core/generation/hunyuan/hunyuan-server'
import { LocalServer, serverArguments } from '../../src/core/local-server'
import type { LocalServerConfig } from '../../src/shared/contract'
import { closedPort } from '../support/closed-port'
import { FAKE_PYTHON, fakeCheckout } from '../support/fake-hunyuan'
import { fixture } from '../support/fixtures'
import { until } from '../support/until'

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const servers: LocalServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()))
})

function supervise(pool: HunyuanPool): { local: LocalServer; events: string[] } {
  const events: string[] = []
  const local = new LocalServer({
    onUp: (server: HunyuanServer) => {
      events.push(`up ${server.url}`)
      pool.add(server)
    },
    onDown: (url) => {
      events.push(`down ${url}`)
      pool.remove(pool.servers.find((s) => s.url === url)?.id ?? '')
    },
    backoffMs: 50,
    probeEveryMs: 50,
  })
  servers.push(local)
  return { local, events }
}

describe('the local server MeshCache starts', () => {
  it('builds upstream’s command line from the settings', () => {
    const config: LocalServerConfig = {
      python: 'python3',
      checkout: '/x',
      port: 8081,
      enableTexture: true,
      lowVram: true,
      modelPath: 'tencent/Hunyuan3D-2mini',
    }
    expect(serverArguments(config)).toEqual([
      'api_server.py',
      '--host',
      '127.0.0.1',
      '--port',
      '8081',
      '--enable_tex',
      '--low_vram_mode',
      '--model_path',
      'tencent/Hunyuan3D-2mini',
    ])
    expect(serverArguments({ ...config, enableTexture: false, lowVram: false, modelPath: undefined })).toHaveLength(5)
    expect(
      serverArguments({
        ...config,
        enableTexture: false,
        lowVram: false,
        subfolder: 'x',
        flashvdm: true,
        mcAlgo: 'dmc',
      }),
    ).toEqual(expect.arrayContaining(['--subfolder', 'x', '--enable_flashvdm', '--mc_algo', 'dmc']))
  })

  it.each([
    [
      '2.0',
      { modelPath: 'tencent/Hunyuan3D-2', subfolder: 'hunyuan3d-dit-v2-0' },
      'Hunyuan3D-2',
      'tencent/Hunyuan3D-2',
    ],
    ['2.1', { flashvdm: true, mcAlgo: 'dmc' }, 'Hunyuan3D-2.1 (flashvdm, mc_algo dmc)', 'tencent/Hunyuan3D-2.1'],
  ] as const)('names a %s server by the weights its launch flags load', async (variant, flags, model, modelPath) => {
    const pool = new HunyuanPool([])
    const { local } = supervise(pool)
    const port = Number(new URL(await closedPort()).port)
    await local.start({
      python: FAKE_PYTHON,
      checkout: fakeCheckout(variant),
      port,
      enableTexture: false,
      lowVram: false,
      ...flags,
    })
    await until(() => local.status().state === 'running', 'the server answers')
    expect(pool.servers[0]?.lastKnown).toMatchObject({ model, modelSource: 'flags', variant })
    expect(await pool.serverKind()).toMatchObject({ model })
    const input = { image: fixture('triposr-chair'), prompt: '', quality: 'draft' as const, seed: 1 }
    const { glb } = await pool.generate(input, { signal: new AbortController().signal })
    const jsonLength = Buffer.from(glb.subarray(12, 16)).readUInt32LE(0)
    const extras = JSON.parse(Buffer.from(glb.subarray(20, 20 + jsonLength)).toString('utf8')).asset.extras
    expect(extras.weights).toMatchObject({ model_path: modelPath })
    await local.stop()
  })

  it('starts api_server.py, is used once it answers, comes back after kill -9, and stops', async () => {
    const pool = new HunyuanPool([])
    const { local, events } = supervise(pool)
    const port = Number(new URL(await closedPort()).port)
    const config = { python: FAKE_PYTHON, checkout: fakeCheckout(), port, enableTexture: true, lowVram: false }
    await local.start(config)
    await until(() => local.status().state === 'running', 'the server answers')
    expect(local.status()).toMatchObject({ url: `http://127.0.0.1:${port}`, restarts: 0 })
    const input = { image: fixture('triposr-chair'), prompt: '', quality: 'draft' as const, seed: 1 }
    const model = await pool.generate(input, { signal: new AbortController().signal })
    expect(Buffer.from(model.glb.subarray(0, 4)).toString('latin1')).toBe('glTF')

    const first = local.status().pid as number
    process.kill(first, 'SIGKILL')
    await until(() => local.status().state === 'running' && local.status().pid !== first, 'it was started again')
    expect(local.status()).toMatchObject({ restarts: 1, problem: 'api_server.py was ended by SIGKILL.' })
    expect(pool.servers).toHaveLength(1)

    const second = local.status().pid as number
    expect(await local.stop()).toMatchObject({ state: 'stopped', url: null })
    expect(alive(second)).toBe(false)
    expect(pool.servers).toHaveLength(0)
    expect(events).toEqual([
      `up http://127.0.0.1:${port}`,
      `down http://127.0.0.1:${port}`,
      `up http://127.0.0.1:${port}`,
      `down http://127.0.0.1:${port}`,
    ])
  })

  it('refuses a folder without api_server.py, and says why a Python that is missing could not start', async () => {
    const { local } = supervise(new HunyuanPool([]))
    const empty = mkdtempSync(join(tmpdir(), 'meshcache-empty-'))
    await expect(
      local.start({ python: FAKE_PYTHON, checkout: empty, port: 9, enableTexture: false, lowVram: false }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/has no api_server\.py/) })
    await local.start({
      python: '/no/such/python',
      checkout: fakeCheckout(),
      port: 9,
      enableTexture: false,
      lowVram: false,
    })
    await until(() => (local.status().problem ?? '').includes('could not start /no/such/python'), 'the reason is known')
    expect(local.status().state).not.toBe('running')
  })
})
