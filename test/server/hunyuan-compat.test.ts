import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
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
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import type { ModelService } from '../../src/core/service/model-service'
import { buildHost } from '../../src/server/app'
import { buildHunyuanHost, hunyuanRoutes } from '../../src/server/hunyuan-routes'
import { appAddresses } from '../../src/shared/addresses'
import { type FakeHunyuan, type FakeVariant, startFakeHunyuan } from '../support/fake-hunyuan'
import { BUILTIN_WORKER, fixture } from '../support/fixtures'
import { startHostProcess } from '../support/host-process'
import { makeService } from '../support/stacks'
import { until } from '../support/until'

/**
 * MeshCache as a drop-in for Hunyuan3D's api_server: the exact requests of its clients
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
  gpu: false | FakeVariant,
): Promise<{ url: string; service: ModelService; app: FastifyInstance; compat: HunyuanCompat }> {
  if (gpu) fake = await startFakeHunyuan({ variant: gpu })
  const generators = [
    ...(fake ? [new HunyuanPool([fake.url], { pollMs: 5 })] : []),
    new BuiltinGenerator({ workerPath: BUILTIN_WORKER }),
  ]
  const service = await makeService({ generators, disk: false }, appAddresses)
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

/** A body as the fake reports it: long strings by length and SHA-256 (fake_hunyuan_server.py's summary). */
function summary(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body).map(([key, value]) =>
      typeof value === 'string' && value.length > 200
        ? [key, { length: value.length, sha256: createHash('sha256').update(value).digest('hex') }]
        : [key, value],
    ),
  )
}

/** Polls /status until the job leaves "processing" (and "texturing"). */
async function finished(url: string, uid: string): Promise<Record<string, unknown>> {
  for (;;) {
    const status = (await (await fetch(`${url}/status/${uid}`)).json()) as Record<string, unknown>
    if (status.status !== 'processing' && status.status !== 'texturing') return status
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('the Hunyuan3D protocol, with a Hunyuan3D 2.0 server behind', () => {
  it.each([
    ['image to 3D', addonImage()],
    ['image to 3D with extra views', addonImage({ image_left: left, image_back: left, image_right: front })],
    ['texturing a selected mesh', { mesh: 'Z2xURgIAAAA=', ...addonImage({ texture: true }) }],
    ['image to 3D with the pipeline’s own fields', addonImage({ num_chunks: 20000, mc_level: 0, box_v: 1.01 })],
  ])('forwards the add-on’s %s request unchanged once, then serves it from the cache', async (_name, payload) => {
    const { url, service } = await start('2.0')
    const first = await glbOf(await post(`${url}/generate`, payload))
    const second = await glbOf(await post(`${url}/generate`, payload))
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true)
    expect((await fake?.stats())?.received).toEqual([summary({ ...payload, type: 'glb' })])
    expect(await service.stats()).toMatchObject({ hits: 1, misses: 1, loads: 1 })
  })

  it('runs one shape job upstream for a Blender session: a picture, the same again, textured, a selected mesh textured', async () => {
    const { url, service } = await start('2.0')
    const shape = await glbOf(await post(`${url}/generate`, addonImage()))
    await glbOf(await post(`${url}/generate`, addonImage()))
    await glbOf(await post(`${url}/generate`, addonImage({ texture: true })))
    await glbOf(await post(`${url}/generate`, { mesh: b64(shape), ...addonImage({ texture: true, seed: 5 }) }))
    const stats = await fake?.stats()
    expect(stats).toMatchObject({ shape_jobs: 1, texture_jobs: 2 })
    // The textured request was sent with the cached shape as its mesh.
    expect(stats?.received[1]).toMatchObject({ texture: true, mesh: summary({ mesh: b64(shape) }).mesh })
    expect(await service.stats()).toMatchObject({ hits: 1, shapeReuses: 1 })
  })

  it('keys a field left out and the same field at its default alike, and leaves out what 2.0 ignores', async () => {
    const { url } = await start('2.0')
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
    // face_count is read only with texture, text only without a picture, unknown fields never.
    await glbOf(await post(`${url}/generate`, { ...defaults, face_count: 5, text: 'a robot', my_field: 1 }))
    expect((await fake?.stats())?.received).toHaveLength(1)
    await glbOf(await post(`${url}/generate`, { ...defaults, seed: 1235 }))
    expect((await fake?.stats())?.received).toHaveLength(2)
  })

  it('answers /send with a uid and /status with processing, then the model; unknown uids get a clear error', async () => {
    const { url } = await start('2.0')
    await fake?.hold()
    const { uid } = (await (await post(`${url}/send`, addonImage())).json()) as { uid: string }
    expect(uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(await (await fetch(`${url}/status/${uid}`)).json()).toEqual({ status: 'processing' })
    await fake?.release()
    const status = await finished(url, uid)
    expect(status.status).toBe('completed')
    expect(Buffer.from(String(status.model_base64), 'base64').subarray(0, 4).toString('latin1')).toBe('glTF')
    const unknown = await fetch(`${url}/status/not-a-job`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ status: 'error', text: 'No job has the uid "not-a-job".' })
  })

  it('passes the server’s own reason on, in upstream’s shape, and reports failed /send jobs', async () => {
    const { url } = await start('2.0')
    await fake?.setBehaviour('error')
    const reason = /^The Hunyuan3D server failed: \*\*NETWORK ERROR DUE TO HIGH TRAFFIC/
    const failed = await post(`${url}/generate`, addonImage())
    expect(failed.status).toBe(404)
    expect(await failed.json()).toEqual({ text: expect.stringMatching(reason), error_code: 1 })
    // 2.0 cannot do text to 3D (its text-to-image step is commented out): its failure is passed on.
    const text = await post(`${url}/generate`, { text: 'a wooden chair', octree_resolution: 256 })
    expect(((await text.json()) as { text: string }).text).toMatch(reason)
    const { uid } = (await (await post(`${url}/send`, addonImage({ seed: 9 }))).json()) as { uid: string }
    expect(await finished(url, uid)).toEqual({ status: 'error', text: expect.stringMatching(reason) })
  })

  it('lets go of a job whose only client left: nothing is cached, and upstream finishes it by itself', async () => {
    const { url, service } = await start('2.0')
    await fake?.hold()
    const controller = new AbortController()
    const running = fetch(`${url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(addonImage()),
      signal: controller.signal,
    }).catch(() => undefined)
    await fake?.untilReceived(1)
    controller.abort()
    await running
    await until(async () => (await service.stats()).cancelled === 1, 'the request was cancelled')
    await fake?.release()
    await until(async () => (await fake?.stats())?.completed === 1, 'upstream finished its job')
    expect(await service.stats()).toMatchObject({ currentItems: 0, loads: 0 })
  })

  it('is probed by another MeshCache as an api_server of its own', async () => {
    // Another MeshCache is another process (this one would refuse itself as its own GPU server).
    fake = await startFakeHunyuan({ variant: '2.0' })
    const other = await startHostProcess({ MESHCACHE_DATA_DIR: 'off', MESHCACHE_HUNYUAN_URL: fake.url })
    cleanups.push(() => other.stop())
    const url = `${other.url}/hunyuan`
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'healthy', meshcache: true })
    const client = new HunyuanPool([url])
    expect(await client.describe()).toMatchObject({ state: 'ready', available: true })
    // The drop-in's requests go to its default model, which it names so a MeshCache in front keys by it.
    expect(await client.serverKind()).toMatchObject({
      variant: '2.0',
      identity: 'meshcache/hunyuan3d-2',
      model: 'Hunyuan3D-2mini-Turbo',
    })
    const model = await client.generate(
      { image: fixture('triposr-robot'), prompt: '', quality: 'draft', seed: 3 },
      { signal: new AbortController().signal },
    )
    expect(Buffer.from(model.glb.subarray(0, 4)).toString('latin1')).toBe('glTF')
  })
})

describe('the Hunyuan3D protocol, with a Hunyuan3D 2.1 server behind', () => {
  it('runs the flow of 2.1’s own test client: /health, /generate, then /send with /status polling', async () => {
    const { url } = await start('2.1')
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'healthy' })
    await glbOf(await post(`${url}/generate`, { image: front, remove_background: true, texture: false, seed: 1234 }))
    const { uid } = (await (await post(`${url}/send`, { image: left, texture: true })).json()) as { uid: string }
    const status = await finished(url, uid)
    expect(status.status).toBe('completed')
    // The add-on's 2.0-style fields are kept within 2.1's limits, which it validates.
    await glbOf(await post(`${url}/generate`, addonImage({ image: left, num_inference_steps: 50 })))
    const { received } = (await fake?.stats()) ?? { received: [] }
    expect(received.every((body) => (body.num_inference_steps as number) <= 20)).toBe(true)
  })

  it('keys the picture and the seed as the sample number, as 2.1 reads nothing else and samples anew', async () => {
    const { url } = await start('2.1')
    const first = await glbOf(await post(`${url}/generate`, addonImage()))
    const same = await glbOf(await post(`${url}/generate`, addonImage({ octree_resolution: 384, texture: true })))
    expect((await fake?.stats())?.received).toHaveLength(1)
    expect(Buffer.compare(same, first)).toBe(0)
    const other = await glbOf(await post(`${url}/generate`, addonImage({ seed: 77 })))
    expect((await fake?.stats())?.received).toHaveLength(2)
    expect(Buffer.compare(other, first)).not.toBe(0)
  })
})

describe('the Hunyuan3D protocol, with the builtin generator only', () => {
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

  it('says plainly that text and meshes need a Hunyuan3D server, and accepts fields no variant reads', async () => {
    const { url, service } = await start(false)
    const text = await post(`${url}/generate`, { text: 'a chair' })
    expect(text.status).toBe(404)
    expect(((await text.json()) as { text: string }).text).toMatch(/^Text to 3D needs a Hunyuan3D server/)
    const mesh = await post(`${url}/generate`, { mesh: 'Z2xURgIAAAA=', image: front, texture: true })
    expect(((await mesh.json()) as { text: string }).text).toMatch(/^Texturing a mesh needs a Hunyuan3D server/)
    await glbOf(await post(`${url}/generate`, { image: front }))
    await glbOf(await post(`${url}/generate`, { image: front, steps: 20, remove_background: true }))
    expect(await service.stats()).toMatchObject({ loads: 1, hits: 1 })
  })

  it.each([
    ['obj', 'model/obj', (bytes: Buffer) => /^v /m.test(bytes.toString('utf8'))],
    ['stl', 'model/stl', (bytes: Buffer) => bytes.byteLength === 84 + 50 * bytes.readUInt32LE(80)],
    ['ply', 'application/x-ply', (bytes: Buffer) => bytes.subarray(0, 4).toString('latin1') === 'ply\n'],
  ])('writes type %s from the one cached GLB', async (type, contentType, looksRight) => {
    const { url, service } = await start(false)
    await glbOf(await post(`${url}/generate`, { image: front }))
    const answer = await post(`${url}/generate`, { image: front, type })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type')).toBe(contentType)
    expect(looksRight(Buffer.from(await answer.arrayBuffer()))).toBe(true)
    expect(await service.stats()).toMatchObject({ loads: 1, hits: 1 })
  })

  it('scales a picture larger than MeshCache reads down instead of refusing it', async () => {
    const { url } = await start(false)
    const huge = await sharp(fixture('triposr-robot')).resize(5000, 5000, { fit: 'fill' }).png().toBuffer()
    await glbOf(await post(`${url}/generate`, { image: b64(huge) }))
  })

  it('keeps every string as sent when it forgives a trailing comma', async () => {
    const { url, service } = await start(false)
    const body = `{ "image": "${front}", "text": "red, }blue, ]green", }`
    const answer = await fetch(`${url}/generate`, { method: 'POST', body })
    await glbOf(answer)
    const [entry] = (await service.entries({ offset: 0, limit: 1, sort: 'lastAccessAt', order: 'desc' })).items
    expect(entry?.meta.prompt).toBe('red, }blue, ]green')
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

  it('serves the same protocol at the root of a port of its own, with the token in the path for header-less clients', async () => {
    const { compat } = await start(false)
    const token = 'a-long-enough-test-token-1234'
    const host = await buildHunyuanHost(compat, { token })
    await host.listen({ host: '127.0.0.1', port: 0 })
    cleanups.push(() => host.close())
    const url = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`
    expect((await post(`${url}/generate`, { image: front })).status).toBe(403)
    // The Blender add-on appends /generate to the URL it is given.
    await glbOf(await post(`${url}/t/${token}/generate`, { image: front }))
    expect((await post(`${url}/t/wrong-token-wrong-token/generate`, { image: front })).status).toBe(403)
    expect(await (await fetch(`${url}/t/${token}/health`)).json()).toMatchObject({ status: 'healthy' })
    expect((await fetch(`${url}/t/${token}/nothing`)).status).toBe(404)
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
