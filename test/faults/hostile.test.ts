import { mkdtempSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { HunyuanCompat } from '../../src/core/compat/hunyuan-compat'
import { dispatch, whenReady } from '../../src/core/dispatch'
import type { ModelService } from '../../src/core/service/model-service'
import type { StorageFs } from '../../src/core/storage/atomic-write'
import { buildHost } from '../../src/server/app'
import { hunyuanRoutes } from '../../src/server/hunyuan-routes'
import { uploadsInProgress } from '../../src/server/upload-admission'
import { appAddresses } from '../../src/shared/addresses'
import type { OperationHandlers, OperationInput, ServiceOperationName } from '../../src/shared/operations'
import { fixture } from '../support/fixtures'
import { GatedGenerator } from '../support/gated-generator'
import { makeService } from '../support/stacks'

/**
 * Hostile input against a real host on loopback: uploads that stall, bodies that are meant to
 * confuse the lenient JSON of /hunyuan. Bounded in count and time.
 */

const running: { app: FastifyInstance; service: ModelService }[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  for (const { app, service } of running.splice(0)) {
    await app.close()
    await service.close()
  }
})

const STALL_MS = 400

/** Calls an operation the way a transport does: raw input, validated at the edge. */
function call<K extends ServiceOperationName>(svc: ModelService, name: K, input?: OperationInput<K> | unknown) {
  return dispatch(whenReady(Promise.resolve(svc)) as unknown as Pick<OperationHandlers, K>, name, input)
}

async function start(bufferBytes?: number): Promise<string> {
  const service = await makeService({ generators: [new GatedGenerator()], disk: false }, appAddresses)
  const limits = { stallMs: STALL_MS, deadlineMs: 60_000, ...(bufferBytes ? { bufferBytes } : {}) }
  const app = await buildHost({
    service,
    uploadLimits: limits,
    plugins: [hunyuanRoutes(new HunyuanCompat(service), '/hunyuan', limits)],
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  running.push({ app, service })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

/** Opens an upload that promises a megabyte and sends ten bytes of it; resolves with what the server answers. */
function stalledUpload(url: string, path: string): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"image":"`,
      )
    })
    sockets.push(socket)
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      answer += chunk
    })
    socket.on('close', () => resolve(answer))
  })
}

const picture = Buffer.from(fixture('triposr-robot')).toString('base64')

describe('uploads that stall', () => {
  it.each([
    ['/api/generate-3d-cached', { image: picture, quality: 'draft' }],
    ['/hunyuan/generate', { image: picture }],
  ])('on %s, hold no one up, and get 408 by their deadline', async (path, body) => {
    const url = await start()
    // Two stalled uploads: as many as there are places to parse pictures.
    const stalled = [stalledUpload(url, path), stalledUpload(url, path)]
    const normal = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(normal.status).toBe(200)
    for (const answer of await Promise.all(stalled)) {
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
      expect(answer).toMatch(/upload stalled: nothing arrived for 0\.4 s/)
      if (path.startsWith('/hunyuan')) expect(answer).toContain('"error_code":1')
      else expect(answer).toContain('"code":"TIMEOUT"')
    }
  })
})

describe('uploads past the buffer', () => {
  /** Streams a body in 64 KB writes, as fast as the socket takes them; resolves with the status. */
  function streamed(url: string, body: Buffer, stopAt = body.byteLength): Promise<number> {
    const { hostname, port } = new URL(url)
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        hostname,
        port,
        path: '/hunyuan/generate',
        method: 'POST',
        headers: { 'content-length': body.byteLength },
      })
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      const write = (from: number): void => {
        if (from >= stopAt) {
          if (stopAt === body.byteLength) req.end()
          return
        }
        const to = Math.min(from + 64 * 1024, stopAt)
        if (req.write(body.subarray(from, to))) setImmediate(() => write(to))
        else req.once('drain', () => write(to))
      }
      write(0)
    })
  }

  it('wait unread while others hold the buffer, the oldest reads on, and every one is answered', async () => {
    const budget = 1024 * 1024
    const url = await start(budget)
    // Bodies twice the whole buffer: each gets through only as the oldest upload reading.
    const body = (seed: number) =>
      Buffer.from(JSON.stringify({ image: picture, seed, padding: 'x'.repeat(2 * budget) }))
    const bodies = [1, 2, 3, 4, 5].map(body)
    let peak = 0
    const sampler = setInterval(() => {
      peak = Math.max(peak, uploadsInProgress().bufferedBytes)
    }, 1)
    const answers = await Promise.all(bodies.map((b) => streamed(url, b)))
    clearInterval(sampler)
    expect(answers).toEqual([200, 200, 200, 200, 200])
    // At most: the upload being parsed, the oldest one reading, and the budget (plus a chunk
    // each); all five at once, as without the buffer, would be over 10 MB.
    const size = bodies[0]?.byteLength as number
    expect(peak).toBeLessThanOrEqual(2 * size + budget + 5 * 64 * 1024)
    expect(uploadsInProgress().bufferedBytes).toBe(0)
  })

  it('a stalled upload holds only what it sent, and gives it back with its 408', async () => {
    const budget = 1024 * 1024
    const url = await start(budget)
    const body = Buffer.from(JSON.stringify({ image: picture, padding: 'x'.repeat(2 * budget) }))
    const stalled = streamed(url, body, 512 * 1024)
    // A whole upload after it is read in full: the stalled one is the oldest, not in its way.
    expect(await streamed(url, Buffer.from(JSON.stringify({ image: picture, seed: 3 })))).toBe(200)
    expect(await stalled.catch(() => 408)).toBe(408)
    expect(uploadsInProgress().bufferedBytes).toBe(0)
  })
})

describe('refused before decoding', () => {
  it('a mesh to texture with only the builtin generator, before a byte of the mesh is decoded', async () => {
    const url = await start()
    // Not base64 at all: decoding it first would have answered that instead.
    const mesh = '!'.repeat(2 * 1024 * 1024)
    for (const path of ['/hunyuan/generate', '/hunyuan/send']) {
      const answer = await fetch(`${url}${path}`, {
        method: 'POST',
        body: JSON.stringify({ image: picture, mesh, texture: true }),
      })
      expect(answer.status, path).toBe(404)
      expect(await answer.json(), path).toEqual({
        text: expect.stringContaining('Texturing a mesh needs a Hunyuan3D server'),
        error_code: 1,
      })
    }
  })
})

describe('results of /send jobs', () => {
  async function compatOver(options: { heldMaxBytes?: number; heldDir?: string }) {
    const generator = new GatedGenerator()
    const service = await makeService(
      { generators: [generator], disk: false, limits: { maxBytes: 1024 * 1024 } },
      appAddresses,
    )
    const compat = new HunyuanCompat(service, options)
    running.push({ app: await buildHost({ service }), service })
    return { compat, service, generator }
  }
  const finished = async (compat: HunyuanCompat, uid: string) => {
    for (;;) {
      const status = await compat.status(uid)
      if (status?.status !== 'processing') return status
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  it('stay within the memory budget without a data folder, the oldest let go first and said so', async () => {
    const probe = await compatOver({})
    const first = await finished(probe.compat, (await probe.compat.send({ image: picture, seed: 1 })).uid)
    const one = Buffer.from((first as { model_base64: string }).model_base64, 'base64').byteLength
    const { compat } = await compatOver({ heldMaxBytes: 3 * one })
    const uids: string[] = []
    for (let seed = 1; seed <= 6; seed++) {
      const { uid } = await compat.send({ image: picture, seed })
      uids.push(uid)
      expect(await finished(compat, uid)).toMatchObject({ status: 'completed' })
    }
    for (const uid of uids.slice(0, 3)) {
      expect(await compat.status(uid)).toEqual({
        status: 'error',
        text: expect.stringContaining('MESHCACHE_HELD_MAX_BYTES'),
      })
    }
    for (const uid of uids.slice(3)) expect(await compat.status(uid)).toMatchObject({ status: 'completed' })
  })

  it('survive a clear of every tier', async () => {
    const { compat, service } = await compatOver({
      heldDir: join(mkdtempSync(join(tmpdir(), 'meshcache-held-')), 'held'),
    })
    const { uid } = await compat.send({ image: picture, seed: 9 })
    expect(await finished(compat, uid)).toMatchObject({ status: 'completed' })
    await service.clear({ scope: 'all', kept: false })
    expect((await service.stats()).currentItems).toBe(0)
    const after = await compat.status(uid)
    expect(after).toMatchObject({ status: 'completed' })
    expect(
      Buffer.from((after as { model_base64: string }).model_base64, 'base64')
        .subarray(0, 4)
        .toString('latin1'),
    ).toBe('glTF')
  })
})

describe('one error shape per surface, and small parsing gaps', () => {
  it('answers a made-up uid of any length in upstream’s shape', async () => {
    const url = await start()
    const answer = await fetch(`${url}/hunyuan/status/${'x'.repeat(5000)}`)
    expect(answer.status).toBe(404)
    expect(await answer.json()).toEqual({
      status: 'error',
      text: `No job has the uid "${'x'.repeat(60)}…".`,
      error_code: 1,
    })
  })

  it('takes data: URLs with any parameters, a byte-order mark, and large offsets as numbers', async () => {
    const url = await start()
    for (const prefix of ['data:;base64,', 'data:image/png;charset=x;base64,', 'data:image/png;base64,']) {
      const answer = await fetch(`${url}/api/generate-3d-cached`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: `${prefix}${picture}`, quality: 'draft' }),
      })
      expect(answer.status, prefix).toBe(200)
    }
    const bom = await fetch(`${url}/hunyuan/generate`, {
      method: 'POST',
      body: `\uFEFF${JSON.stringify({ image: picture })}`,
    })
    expect(bom.status).toBe(200)
    const page = await fetch(`${url}/api/cache/entries?offset=1000000000`)
    expect(page.status).toBe(200)
    expect(await page.json()).toMatchObject({ offset: 1_000_000_000, items: [] })
  })

  it('cites limits in words a person reads', async () => {
    const url = await start()
    const answer = await fetch(`${url}/hunyuan/generate`, {
      method: 'POST',
      body: JSON.stringify({ image: picture, seed: 2 ** 60 }),
    })
    expect(await answer.json()).toEqual({
      text: 'The request was refused: seed: seed must be a whole number from 0 to 4,294,967,295.',
      error_code: 1,
    })
  })
})

describe('a clear while a model is being stored', () => {
  it('never leaves a listed model whose thumbnail is missing', async () => {
    // The model's disk write is held at its last step, so a clear lands between the
    // generation's end and the model being kept.
    let reachRename: () => void = () => undefined
    const renameReached = new Promise<void>((resolve) => {
      reachRename = resolve
    })
    let releaseRename: () => void = () => undefined
    const renameHeld = new Promise<void>((resolve) => {
      releaseRename = resolve
    })
    const fs: StorageFs = {
      ...fsp,
      rename: (async (from: string, to: string) => {
        if (to.endsWith('.glb')) {
          reachRename()
          await renameHeld
        }
        return fsp.rename(from, to)
      }) as StorageFs['rename'],
    }
    const svc = await makeService({ generators: [new GatedGenerator()], diskOptions: { fs } }, appAddresses)
    running.push({ app: await buildHost({ service: svc }), service: svc })
    const generating = call(svc, 'generate', { image: fixture('triposr-robot'), quality: 'draft' })
    await renameReached
    await call(svc, 'clear', { scope: 'all' })
    releaseRename()
    const { key } = (await generating) as { key: string }
    const { items } = (await call(svc, 'entries', {})) as { items: { key: string; thumbnailUrl: string | null }[] }
    for (const entry of items.filter((each) => each.key === key && each.thumbnailUrl !== null)) {
      expect(await svc.thumbnail(entry.key), 'a listed thumbnail is there').toBeDefined()
    }
    // And the model the user waited for was kept (a clear does not throw away a generation under way).
    expect(items.map((each) => each.key)).toContain(key)
  })
})
