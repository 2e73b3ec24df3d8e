import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { dispatch } from '../../src/core/dispatch'
import { HunyuanPool } from '../../src/core/generation/hunyuan/hunyuan-pool'
import { GpuServers } from '../../src/core/service/gpu-servers'
import { MAX_GPU_SERVERS, SavedServers } from '../../src/core/service/saved-servers'
import type { OperationHandlers } from '../../src/shared/operations'
import { codeOf } from '../support/code-of'
import { type FakeHunyuan, startFakeHunyuan } from '../support/fake-hunyuan'

/**
 * GPU servers set up in the app, against the ways they were seen to break: one server under
 * several spellings, adds at once, and a damaged `gpu-servers.json`.
 */

const fakes: FakeHunyuan[] = []
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()))
})

function setUp(dir = mkdtempSync(join(tmpdir(), 'meshcache-servers-'))) {
  const pool = new HunyuanPool([])
  const file = new SavedServers(join(dir, 'gpu-servers.json'))
  const servers = new GpuServers(pool, file, () => undefined)
  // As a transport adds one: the URL validated (and normalised) at the edge.
  const handlers: Pick<OperationHandlers, 'addBackend'> = {
    addBackend: async (input) => {
      await servers.add(input)
      return []
    },
  }
  const add = (url: string) => dispatch(handlers, 'addBackend', { url })
  return { dir, pool, servers, add, path: join(dir, 'gpu-servers.json') }
}

describe('one GPU server, one entry', () => {
  it('refuses the same server under other spellings of its address', async () => {
    const fake = await startFakeHunyuan()
    fakes.push(fake)
    const port = new URL(fake.url).port
    const { pool, add } = setUp()
    await add(fake.url)
    for (const spelling of [
      `HTTP://LOCALHOST:${port}/.`,
      `http://127.1:${port}`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://localhost:${port}/`,
      `http://127.0.0.1:${port}//`,
    ]) {
      expect(await codeOf(add(spelling)), spelling).toBe('INVALID_REQUEST')
    }
    expect(pool.servers.map((server) => server.url)).toEqual([fake.url])
  })

  it('gives five adds of the same URL at once one entry', async () => {
    const fake = await startFakeHunyuan()
    fakes.push(fake)
    const { pool, add, path } = setUp()
    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map(() => add(fake.url)))
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
    expect(pool.servers).toHaveLength(1)
    expect(JSON.parse(readFileSync(path, 'utf8')).servers).toHaveLength(1)
  })
})

describe('a damaged gpu-servers.json', () => {
  it('loads the good entries of a file with a bad one, says so, and keeps the file as it was', async () => {
    const { dir, pool, servers, path } = setUp()
    const original = JSON.stringify({
      servers: [{ url: 'http://gpu1:8080' }, { url: 42 }, { url: 'http://gpu2:8080', concurrency: 2, extra: 'newer' }],
    })
    writeFileSync(path, original)
    const problems = await servers.load()
    expect(pool.servers.map((server) => server.url)).toEqual(['http://gpu1:8080', 'http://gpu2:8080'])
    expect(problems).toEqual([expect.stringMatching(/^1 of the saved GPU servers could not be read .*damaged-/)])
    const aside = readdirSync(dir).find((name) => name.startsWith('gpu-servers.json.damaged-')) as string
    expect(readFileSync(join(dir, aside), 'utf8')).toBe(original)
  })

  it('reads an older list of URLs', async () => {
    const { pool, servers, path } = setUp()
    writeFileSync(path, JSON.stringify(['http://gpu1:8080', 'http://gpu3:8081/']))
    expect(await servers.load()).toEqual([])
    expect(pool.servers.map((server) => server.url)).toEqual(['http://gpu1:8080', 'http://gpu3:8081'])
  })

  it.each([
    ['not JSON', '{"servers": [', 'is not JSON'],
    ['no list', '{"version": 3}', 'holds no list of servers'],
  ])('sets aside a file that is %s, and a later add does not overwrite it', async (_name, text, why) => {
    const fake = await startFakeHunyuan()
    fakes.push(fake)
    const { dir, servers, add, path } = setUp()
    writeFileSync(path, text)
    expect(await servers.load()).toEqual([expect.stringContaining(why)])
    await add(fake.url)
    const aside = readdirSync(dir).find((name) => name.startsWith('gpu-servers.json.damaged-')) as string
    expect(readFileSync(join(dir, aside), 'utf8')).toBe(text)
    expect(JSON.parse(readFileSync(path, 'utf8')).servers).toHaveLength(1)
  })

  it('sets aside a folder where the file should be, so an add works', async () => {
    const fake = await startFakeHunyuan()
    fakes.push(fake)
    const { servers, add, path } = setUp()
    mkdirSync(path)
    expect(await servers.load()).toEqual([expect.stringContaining('is a folder')])
    await add(fake.url)
    expect(existsSync(path)).toBe(true)
    expect(JSON.parse(readFileSync(path, 'utf8')).servers).toHaveLength(1)
  })

  it(`keeps at most ${MAX_GPU_SERVERS} saved servers, and says so`, async () => {
    const { pool, servers, path } = setUp()
    writeFileSync(
      path,
      JSON.stringify({ servers: Array.from({ length: 500 }, (_, i) => ({ url: `http://gpu${i}:8080` })) }),
    )
    expect(await servers.load()).toEqual([`Only the first ${MAX_GPU_SERVERS} of 500 saved GPU servers are used.`])
    expect(pool.servers).toHaveLength(MAX_GPU_SERVERS)
  })
})
