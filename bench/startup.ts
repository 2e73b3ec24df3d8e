import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DISK_FORMAT } from '../src/core/storage/disk-records'
import { DiskTier } from '../src/core/storage/disk-tier'
import { startFakeHunyuan } from '../test/support/fake-hunyuan'
import { ROOT } from './built'
import { syntheticGlb } from './glb'
import { getJson, requestModel, send, startHost } from './host-client'
import { type BenchReport, fmt, markdownTable, median, percentile } from './lib'

/**
 * Start-up and disk hits as the disk tier grows. Tiers of about 0, 300 MB and 3 GB are built
 * through the tier's own API from synthetic (valid) 10 MB GLBs; the built host starts on each
 * in its own process. Ratios compare with the empty tier and with the memory tier, measured
 * in the same run.
 */

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
const MODEL_BYTES = 10 * 1024 * 1024
const STARTS = 3
const HITS = 120
const INDEX_ENTRIES = 100_000

async function buildTier(models: number): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-startup-'))
  const tier = new DiskTier({ dir: join(dataDir, 'models'), maxBytes: 64 * 1024 ** 3, log: () => undefined })
  await tier.open()
  const base = await syntheticGlb(MODEL_BYTES)
  for (let i = 0; i < models; i++) {
    // Each model differs (its last bytes), so each is a file of its own.
    const bytes = new Uint8Array(base)
    new DataView(bytes.buffer).setUint32(bytes.byteLength - 4, i, true)
    const key = createHash('sha256').update(`startup-${i}`).digest('hex')
    await tier.write(key, bytes, { generationMs: 124_600, meta: { prompt: `model ${i}` } })
  }
  await tier.flush()
  return dataDir
}

/** An index of 100 000 entries (tiny model files), written directly in the tier's layout. */
function buildIndex(entries: number): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'meshcache-index-')), 'models')
  mkdirSync(join(dir, 'records'), { recursive: true })
  const records = []
  for (let i = 0; i < entries; i++) {
    const bytes = Buffer.from(`model ${i}`)
    const file = createHash('sha256').update(bytes).digest('hex')
    const key = createHash('sha256').update(`key ${i}`).digest('hex')
    writeFileSync(join(dir, `${file}.glb`), bytes)
    const record = {
      key,
      file,
      bytes: bytes.byteLength,
      createdAt: i,
      lastAccessAt: i,
      hits: 0,
      generationMs: 124_600,
      meta: { prompt: `model ${i}`, quality: 'standard', seed: i },
    }
    writeFileSync(join(dir, 'records', `${key}.json`), JSON.stringify(record))
    records.push(record)
  }
  // As the tier writes it: with the records folder's time, so a start need not list the folder.
  const recordsMtimeMs = statSync(join(dir, 'records')).mtimeMs
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ version: DISK_FORMAT, recordsMtimeMs, entries: records }))
  writeFileSync(join(dir, 'FORMAT'), String(DISK_FORMAT))
  return dir
}

interface StartTimes {
  /** The page itself (the host listens while the service reads its disk index). */
  pageMs: number
  /** The first operation (cache statistics): after the disk index is read. */
  firstAnswerMs: number
  warmMs: number
}

async function startOnce(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<StartTimes & { stop: () => void }> {
  const started = performance.now()
  const host = await startHost({ MESHCACHE_DATA_DIR: dataDir, ...env })
  const page = await send(`${host.url}/`, 'GET')
  if (page.status !== 200) throw new Error(`the page answered HTTP ${page.status}`)
  const pageMs = performance.now() - started
  const stats = async () => (await getJson<{ disk: { warming: boolean } }>(`${host.url}/api/cache/stats`)).disk
  let disk = await stats()
  const firstAnswerMs = performance.now() - started
  while (disk.warming) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    disk = await stats()
  }
  return { pageMs, firstAnswerMs, warmMs: performance.now() - started, stop: () => host.child.kill('SIGKILL') }
}

/** Memory hits of one 10 MB model (the request and the model to its last byte). */
async function hits(url: string, body: string, count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const hit = await requestModel(url, body)
    if (hit.cache !== 'hit' || hit.tier !== 'memory')
      throw new Error(`expected a memory hit, got ${hit.cache}/${hit.tier}`)
    times.push(hit.ms)
  }
  return times
}

export async function runStartupBench(): Promise<BenchReport> {
  const tiers = [
    { name: 'empty', models: 0 },
    { name: 'about 300 MB (30 models)', models: 30 },
    { name: 'about 3 GB (300 models)', models: 300 },
  ]
  const startRows: (string | number)[][] = []
  const startData: Record<string, unknown>[] = []
  let emptyFirst = 0
  let bigDir = ''
  for (const tier of tiers) {
    const dataDir = await buildTier(tier.models)
    // What was just written reaches the disk first, so it does not slow the starts measured.
    spawnSync('sync')
    if (tier.models === 300) bigDir = dataDir
    const runs: StartTimes[] = []
    for (let i = 0; i < STARTS; i++) {
      const run = await startOnce(dataDir)
      run.stop()
      runs.push(run)
    }
    const page = median(runs.map((r) => r.pageMs))
    const first = median(runs.map((r) => r.firstAnswerMs))
    const warm = median(runs.map((r) => r.warmMs))
    if (tier.models === 0) emptyFirst = first
    startData.push({ tier: tier.name, pageMs: page, firstAnswerMs: first, warmMs: warm })
    startRows.push([tier.name, fmt(page), fmt(first), `${fmt(first / emptyFirst, 2)}x`, fmt(warm)])
  }

  // The index alone, at 100 000 entries, each load in a fresh process (as a start is).
  const indexDir = buildIndex(INDEX_ENTRIES)
  spawnSync('sync')
  const loads: number[] = []
  for (let i = 0; i < STARTS; i++) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), indexDir], {
      encoding: 'utf8',
    })
    if (child.status !== 0) throw new Error(`loading the index failed: ${child.stderr}`)
    loads.push(Number(child.stdout.trim().split('\n').at(-1)))
  }
  const indexMs = median(loads)
  const hostOnIndex = await startOnce(join(indexDir, '..'))
  hostOnIndex.stop()

  // Memory hits of a 10 MB model while the 3 GB tier's scrub runs, and after it.
  const fake = await startFakeHunyuan({ served: await syntheticGlb(MODEL_BYTES) })
  const host = await startHost({ MESHCACHE_DATA_DIR: bigDir, MESHCACHE_HUNYUAN_URL: fake.url, MESHCACHE_PORT: '0' })
  const body = JSON.stringify({ image: readFileSync(join(FIXTURES, 'triposr-robot.png')).toString('base64') })
  await requestModel(host.url, body)
  const scrubbing = async (): Promise<boolean> =>
    (await getJson<{ disk: { scrubbing: boolean } }>(`${host.url}/api/cache/stats`)).disk.scrubbing
  // The scrub starts once warm-up and the tidy (a listing of the folder) are done; checking
  // 3 GB with a pause between files takes far longer than these polls (slow enough to stay
  // within the management routes' rate limit).
  for (let polls = 0; !(await scrubbing()); polls++) {
    if (polls > 240) throw new Error('the scrub did not start within a minute')
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const duringScrub: number[] = []
  while ((await scrubbing()) && duringScrub.length < HITS) duringScrub.push(...(await hits(host.url, body, 10)))
  while (await scrubbing()) await new Promise((resolve) => setTimeout(resolve, 250))
  const memory = await hits(host.url, body, HITS)
  host.child.kill('SIGKILL')
  await fake.close()

  const p = (values: number[], q: number): number => (values.length ? percentile(values, q) : Number.NaN)
  const hitRows: (string | number)[][] = [
    ['no scrub running', memory.length, fmt(p(memory, 50), 1), fmt(p(memory, 95), 1), '1.00x'],
    [
      'while the scrub checks 3 GB',
      duringScrub.length,
      fmt(p(duringScrub, 50), 1),
      fmt(p(duringScrub, 95), 1),
      `${fmt(p(duringScrub, 95) / p(memory, 95), 2)}x`,
    ],
  ]
  const table = [
    markdownTable(['disk tier', 'page ms', 'first operation ms', 'first operation vs empty', 'warm ms'], startRows),
    '',
    `Times from starting the host process, medians of ${STARTS} starts. Loading an index of ${fmt(INDEX_ENTRIES)} entries: ${fmt(indexMs)} ms (median of ${STARTS}, each in a fresh process). On that index the host serves its page ${fmt(hostOnIndex.pageMs)} ms and answers its first operation ${fmt(hostOnIndex.firstAnswerMs)} ms after it starts.`,
    '',
    markdownTable(['10 MB memory hit, to the last byte', 'n', 'p50 ms', 'p95 ms', 'p95 vs no scrub'], hitRows),
  ].join('\n')
  return {
    name: 'startup',
    table,
    data: {
      starts: startData,
      indexEntries: INDEX_ENTRIES,
      indexLoadMs: indexMs,
      hostOnIndex,
      hits: { memory, duringScrub },
    },
  }
}

// A child run: loads the index in the folder given and prints how long it took (ms).
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  const started = performance.now()
  const tier = new DiskTier({ dir: process.argv[2], maxBytes: 64 * 1024 ** 3, log: () => undefined })
  await tier.open()
  if (tier.stats().currentItems !== INDEX_ENTRIES) throw new Error('the index did not load whole')
  console.log(performance.now() - started)
}
