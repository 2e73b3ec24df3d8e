import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { fixture, numberedPicture } from '../support/fixtures'
import { type HostProcess, startHostProcess } from '../support/host-process'

/** The built host, in a process of its own, as a hostile but fair tester meets it. */

const hosts: HostProcess[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.crash()))
})

async function host(env: Record<string, string>): Promise<HostProcess> {
  const started = await startHostProcess(env)
  hosts.push(started)
  return started
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

/** Request n: its own picture (the builtin generator reads nothing else that differs here). */
async function generate(url: string, n: number, extra: Record<string, unknown> = {}) {
  const picture = Buffer.from(await numberedPicture(n)).toString('base64')
  const response = await post(`${url}/api/generate-3d-cached`, { image: picture, quality: 'draft', seed: n, ...extra })
  expect(response.status).toBe(200)
  return (await response.json()) as { key: string; bytes: number; modelUrl: string; stored: boolean }
}

async function stats(url: string) {
  return (await (await fetch(`${url}/api/cache/stats`)).json()) as {
    currentItems: number
    disk: { currentItems: number; lastError: string | null; readOnly: boolean; badRecords: number }
  }
}

function raw(url: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string }) {
  const { hostname, port } = new URL(url)
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** A data folder with three models, the host stopped as a user stops it. */
async function usedDataDir(): Promise<{ dataDir: string; keys: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-faults-'))
  const first = await host({ MESHCACHE_DATA_DIR: dataDir })
  const keys = [
    (await generate(first.url, 1)).key,
    (await generate(first.url, 2)).key,
    (await generate(first.url, 3)).key,
  ]
  await first.stop()
  return { dataDir, keys }
}

describe('the disk tier across a restart of the host', () => {
  const damages: [string, (index: string) => void][] = [
    ['cut to half its size', (p) => writeFileSync(p, readFileSync(p).subarray(0, readFileSync(p).length >> 1))],
    ['empty', (p) => writeFileSync(p, '')],
    ['garbage', (p) => writeFileSync(p, 'garbage \u0000')],
    ['null', (p) => writeFileSync(p, 'null')],
    ['[1,2,3]', (p) => writeFileSync(p, '[1,2,3]')],
    [
      'of a newer version',
      (p) => writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), version: 99 })),
    ],
    [
      'a folder',
      (p) => {
        rmSync(p)
        mkdirSync(p)
      },
    ],
    [
      'holding bad records',
      (p) => {
        const index = JSON.parse(readFileSync(p, 'utf8'))
        index.entries[0].meta.prompt = { nested: true }
        index.entries[1].generationMs = -1
        writeFileSync(p, JSON.stringify(index))
      },
    ],
  ]
  it.each(damages)('starts with an index %s, deletes no model file and serves every model', async (_name, damage) => {
    const { dataDir, keys } = await usedDataDir()
    const models = join(dataDir, 'models')
    const files = readdirSync(models)
      .filter((f) => f.endsWith('.glb'))
      .sort()
    damage(join(models, 'index.json'))
    const after = await host({ MESHCACHE_DATA_DIR: dataDir })
    expect(
      readdirSync(models)
        .filter((f) => f.endsWith('.glb'))
        .sort(),
    ).toEqual(files)
    for (const key of keys) expect((await fetch(`${after.url}/models/${key}.glb`)).status).toBe(200)
    expect((await stats(after.url)).disk.currentItems).toBe(3)
  })

  it('leaves a folder written by a newer MeshCache unchanged, and says so', async () => {
    const { dataDir, keys } = await usedDataDir()
    writeFileSync(join(dataDir, 'models', 'FORMAT'), '3')
    const after = await host({ MESHCACHE_DATA_DIR: dataDir })
    const disk = (await stats(after.url)).disk
    expect(disk).toMatchObject({ readOnly: true, currentItems: 3 })
    expect(disk.lastError).toMatch(/newer MeshCache/)
    expect((await fetch(`${after.url}/models/${keys[0]}.glb`)).status).toBe(200)
    await generate(after.url, 4)
    await after.stop()
    expect(readdirSync(join(dataDir, 'models', 'records'))).toHaveLength(3)
  })

  it('keeps the limits a user set', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-faults-'))
    const first = await host({ MESHCACHE_DATA_DIR: dataDir })
    expect((await post(`${first.url}/api/cache/config`, { maxItems: 42, maxBytes: 64 * 1024 * 1024 })).status).toBe(200)
    await first.crash()
    const after = await host({ MESHCACHE_DATA_DIR: dataDir })
    expect(await (await fetch(`${after.url}/api/cache/config`)).json()).toMatchObject({
      maxItems: 42,
      maxBytes: 64 * 1024 * 1024,
    })
  })
})

describe('a model no tier can keep', () => {
  it('is still downloadable from the answer, which says it was not kept', async () => {
    const big = (await sharp(fixture('trellis-lantern')).png().toBuffer()).toString('base64')
    const running = await host({ MESHCACHE_DATA_DIR: 'off' })
    expect((await post(`${running.url}/api/cache/config`, { maxBytes: 1024 * 1024 })).status).toBe(200)
    const response = await post(`${running.url}/api/generate-3d-cached`, { image: big, quality: 'high' })
    const result = (await response.json()) as { bytes: number; modelUrl: string; stored: boolean }
    expect(result.bytes).toBeGreaterThan(1024 * 1024)
    expect(result.stored).toBe(false)
    const model = await fetch(`${running.url}${result.modelUrl}`)
    expect(model.status).toBe(200)
    expect((await model.arrayBuffer()).byteLength).toBe(result.bytes)
  })
})

describe('cross-site requests', () => {
  it('cannot clear the cache, whatever a web page sends', async () => {
    const running = await host({ MESHCACHE_DATA_DIR: 'off' })
    await generate(running.url, 1)
    const clear = (headers: Record<string, string>, body: string) =>
      raw(running.url, '/api/cache/clear', { method: 'POST', headers, body })
    expect(await clear({ 'content-type': 'application/json', origin: 'https://evil.example' }, '{"scope":"all"}')).toBe(
      403,
    )
    expect(await clear({ 'content-type': 'text/plain' }, '{"scope":"all"}')).toBe(415)
    expect(await clear({ 'content-type': 'application/x-www-form-urlencoded' }, 'scope=all')).toBe(415)
    expect(await clear({}, '')).toBe(415)
    for (const body of ['{}', '{"scope":null}', '{"scpoe":"memory"}']) {
      expect(await clear({ 'content-type': 'application/json' }, body), body).toBe(400)
    }
    expect((await stats(running.url)).currentItems).toBe(1)
  })

  it('answers a malformed token cookie with 403', async () => {
    const running = await host({ MESHCACHE_DATA_DIR: 'off', MESHCACHE_TOKEN: 'correct-horse-battery-staple' })
    expect(await raw(running.url, '/api/cache/stats', { headers: { cookie: 'meshcache_token=%' } })).toBe(403)
  })

  it('off loopback without a token, generates one and prints the address that carries it', async () => {
    const running = await host({ MESHCACHE_DATA_DIR: 'off', MESHCACHE_HOST: '0.0.0.0' })
    const token = /\?token=([\w-]{32})/.exec(running.output())?.[1]
    expect(token).toBeDefined()
    expect((await fetch(`${running.url}/api/backends`)).status).toBe(403)
    expect((await fetch(`${running.url}/api/backends`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    )
  })

  it('refuses a token that is one repeated character', async () => {
    await expect(startHostProcess({ MESHCACHE_TOKEN: 'x'.repeat(20) })).rejects.toThrow(
      /MESHCACHE_TOKEN must not be one repeated character/,
    )
  })
})
