import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { FastifyInstance } from 'fastify'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { HunyuanCompat } from '../../src/core/compat/hunyuan-compat'
import { BuiltinGenerator } from '../../src/core/generation/builtin/builtin-generator'
import { HunyuanGenerator } from '../../src/core/generation/hunyuan/hunyuan-generator'
import type { ModelService } from '../../src/core/service/model-service'
import { buildHost } from '../../src/server/app'
import { buildHunyuanHost, hunyuanRoutes } from '../../src/server/hunyuan-routes'
import { httpAddresses } from '../../src/shared/addresses'
import { type FakeHunyuan, startFakeHunyuan } from '../support/fake-hunyuan'
import { BUILTIN_WORKER, fixture } from '../support/fixtures'
import { makeService } from '../support/stacks'

/**
 * MeshCache as a drop-in for Hunyuan3D-2's api_server: the exact requests of its clients
 * (the official Blender add-on, the README's curl, scripts), against MeshCache with the
 * protocol-faithful fake server behind it, or the builtin generator without one.
 */

const run = promisify(execFile)
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const front = b64(fixture('triposr-robot'))
const left = b64(fixture('triposr-chair'))

/** The add-on's image-to-3D payload (blender_addon.py, with its default settings). */
const addonImage = (extra: Record<string, unknown> = {}) => ({
  image: front,
  octree_resolution: 256,
  num_inference_steps: 20,
  guidance_scale: 5.5,
  texture: false,
  ...extra,
})

let fake: FakeHunyuan | undefined
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await fake?.close()
  fake = undefined
})

async function start(
  withGpu: boolean,
): Promise<{ url: string; service: ModelService; app: FastifyInstance; compat: HunyuanCompat }> {
  if (withGpu) fake = await startFakeHunyuan('ok')
  const generators = [
    ...(fake ? [new HunyuanGenerator({ url: fake.url })] : []),
    new BuiltinGenerator({ workerPath: BUILTIN_WORKER }),
  ]
  const service = await makeService({ generators, disk: false }, httpAddresses)
  const compat = new HunyuanCompat(service)
  const app = await buildHost({ service, plugins: [hunyuanRoutes(compat, '/hunyuan')] })
  await app.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(async () => {
    await app.close()
    await service.close()
  })
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/hunyuan`, service, app, compat }
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

async function glbOf(response: Response): Promise<Uint8Array> {
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('model/gltf-binary')
  const bytes = new Uint8Array(await response.arrayBuffer())
  expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('glTF')
  return bytes
}

describe('the Hunyuan3D-2 protocol, with a Hunyuan3D-2 server behind', () => {
  it.each([
    ['image to 3D', addonImage()],
    ['image to 3D with extra views', addonImage({ image_left: left, image_back: left, image_right: front })],
    ['texturing a selected mesh', { mesh: 'Z2xURgIAAAA=', ...addonImage({ texture: true }) }],
    [
      'text to 3D',
      { text: 'a wooden chair', octree_resolution: 256, num_inference_steps: 20, guidance_scale: 5.5, texture: false },
    ],
  ])('forwards the add-on’s %s request unchanged once, then serves it from the cache', async (_name, payload) => {
    const { url, service } = await start(true)
    const first = await glbOf(await post(`${url}/generate`, payload))
    const second = await glbOf(await post(`${url}/generate`, payload))
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true)
    expect(fake?.received).toEqual([payload])
    expect(await service.stats()).toMatchObject({ hits: 1, misses: 1, loads: 1 })
  })

  it('keys a field left out and the same field at its default alike', async () => {
    const { url } = await start(true)
    await glbOf(await post(`${url}/generate`, { image: front }))
    const defaults = {
      image: front,
      seed: 1234,
      octree_resolution: 128,
      num_inference_steps: 5,
      guidance_scale: 5.0,
      texture: false,
      face_count: 40000,
      type: 'glb',
    }
    await glbOf(await post(`${url}/generate`, defaults))
    expect(fake?.received).toHaveLength(1)
    await glbOf(await post(`${url}/generate`, { ...defaults, seed: 1235 }))
    expect(fake?.received).toHaveLength(2)
  })

  it('answers /send with a uid and /status with processing, then the model; unknown uids get a clear error', async () => {
    const { url } = await start(true)
    fake?.hold()
    const { uid } = (await (await post(`${url}/send`, addonImage())).json()) as { uid: string }
    expect(uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(await (await fetch(`${url}/status/${uid}`)).json()).toEqual({ status: 'processing' })
    fake?.release()
    let status: { status: string; model_base64?: string } = { status: 'processing' }
    for (let i = 0; i < 500 && status.status === 'processing'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      status = (await (await fetch(`${url}/status/${uid}`)).json()) as typeof status
    }
    expect(status.status).toBe('completed')
    expect(
      Buffer.from(status.model_base64 ?? '', 'base64')
        .subarray(0, 4)
        .toString('latin1'),
    ).toBe('glTF')
    const unknown = await fetch(`${url}/status/not-a-job`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ status: 'error', text: 'No job has the uid "not-a-job".' })
  })

  it('passes the real reason of a failure on, in upstream’s shape, and reports failed /send jobs', async () => {
    const { url } = await start(true)
    if (fake) fake.behaviour = 'error'
    const failed = await post(`${url}/generate`, addonImage())
    expect(failed.status).toBe(404)
    expect(await failed.json()).toEqual({ text: 'The Hunyuan3D-2 server failed: CUDA out of memory', error_code: 1 })
    const { uid } = (await (await post(`${url}/send`, addonImage({ seed: 9 }))).json()) as { uid: string }
    let status: { status: string; text?: string } = { status: 'processing' }
    for (let i = 0; i < 500 && status.status === 'processing'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      status = (await (await fetch(`${url}/status/${uid}`)).json()) as typeof status
    }
    expect(status).toEqual({ status: 'error', text: 'The Hunyuan3D-2 server failed: CUDA out of memory' })
  })

  it('stops the job on the server when its only client goes away', async () => {
    const { url, service } = await start(true)
    fake?.hold()
    const controller = new AbortController()
    const running = fetch(`${url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(addonImage()),
      signal: controller.signal,
    }).catch(() => undefined)
    while ((fake?.received.length ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    await running
    while ((fake?.abandoned ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(await service.stats()).toMatchObject({ currentItems: 0, cancelled: 1 })
  })
})

describe('the Hunyuan3D-2 protocol, with the builtin generator only', () => {
  it('maps octree resolution to quality, lists the request with its parameters and counts it', async () => {
    const { url, service } = await start(false)
    await glbOf(await post(`${url}/generate`, addonImage({ octree_resolution: 100 })))
    const [entry] = (await service.entries({ offset: 0, limit: 10, sort: 'lastAccessAt', order: 'desc' })).items
    expect(entry?.meta).toMatchObject({
      quality: 'draft',
      octree_resolution: 100,
      num_inference_steps: 20,
      guidance_scale: 5.5,
      backend: 'builtin',
    })
    expect(await service.stats()).toMatchObject({ loads: 1, currentItems: 1 })
  })

  it('says plainly that text and meshes need a Hunyuan3D-2 server, and refuses unknown fields', async () => {
    const { url } = await start(false)
    const text = await post(`${url}/generate`, { text: 'a chair' })
    expect(text.status).toBe(404)
    expect(((await text.json()) as { text: string }).text).toMatch(/^Text to 3D needs a Hunyuan3D-2 server/)
    const mesh = await post(`${url}/generate`, { mesh: 'Z2xURgIAAAA=', image: front, texture: true })
    expect(((await mesh.json()) as { text: string }).text).toMatch(/^Texturing a mesh needs a Hunyuan3D-2 server/)
    const unknown = await post(`${url}/generate`, { image: front, steps: 20 })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ text: 'The request was refused: Unrecognized key: "steps".', error_code: 1 })
  })

  it("answers the README's curl, even without a content type and with its trailing comma", async () => {
    const { url } = await start(false)
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-curl-'))
    const small = b64(await sharp(fixture('triposr-teapot')).resize(256).png().toBuffer())
    const bodies = [`{"image": "${small}"}`, `{ "image": "${small}", }`]
    for (const [i, body] of bodies.entries()) {
      writeFileSync(join(dir, `body${i}.json`), body)
      const out = join(dir, `out${i}.glb`)
      const headers = i === 0 ? ['-H', 'Content-Type: application/json'] : []
      // Asynchronously: the host answers from this very process.
      await run('curl', [
        '-s',
        '-X',
        'POST',
        `${url}/generate`,
        ...headers,
        '-d',
        `@${join(dir, `body${i}.json`)}`,
        '-o',
        out,
      ])
      expect(readFileSync(out).subarray(0, 4).toString('latin1')).toBe('glTF')
    }
  })

  it('serves the same protocol at the root of a port of its own', async () => {
    const { compat } = await start(false)
    const host = await buildHunyuanHost(compat, {})
    await host.listen({ host: '127.0.0.1', port: 0 })
    cleanups.push(() => host.close())
    const url = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`
    await glbOf(await post(`${url}/generate`, { image: front }))
    expect((await fetch(`${url}/nothing`)).status).toBe(404)
  })
})

const python = spawnSync('python3', ['-c', 'import requests'], { encoding: 'utf8' })
const hasRequests = python.status === 0
if (!hasRequests)
  console.log('Skipping the python requests test: python3 with the requests module is not on this machine.')

describe.runIf(hasRequests)('a Python client using requests, as the add-on does', () => {
  it('gets a GLB from requests.post(url, json=payload)', async () => {
    const { url } = await start(false)
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-py-'))
    const out = join(dir, 'model.glb')
    const script = [
      'import base64, json, sys, requests',
      'payload = {"image": base64.b64encode(open(sys.argv[2], "rb").read()).decode(), "octree_resolution": 256, "num_inference_steps": 20, "guidance_scale": 5.5, "texture": False}',
      'response = requests.post(sys.argv[1] + "/generate", json=payload)',
      'assert response.status_code == 200, response.text',
      'open(sys.argv[3], "wb").write(response.content)',
    ].join('\n')
    const picture = join(dir, 'robot.png')
    writeFileSync(picture, fixture('triposr-robot'))
    const { stderr } = await run('python3', ['-c', script, url, picture, out])
    expect(stderr).toBe('')
    expect(readFileSync(out).subarray(0, 4).toString('latin1')).toBe('glTF')
  })
})
