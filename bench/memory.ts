import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { numberedPicture } from '../test/support/fixtures'
import { ROOT } from './built'
import { send, startHost } from './host-client'
import { type BenchReport, fmt, markdownTable } from './lib'

/**
 * Peak memory of the host under large pictures, read from the kernel's high-water mark of
 * its resident set (VmHWM), so no peak between two samples is missed: 16 concurrent
 * generations of 4096×4096 pictures, and one warm request of 32 large pictures.
 * Target: under 400 MB each. The same pictures as jobs (queued one after another, and sent
 * at once), which wait on disk. Then the memory /hunyuan/send results take when no tier keeps
 * them (no data folder, a 1 MB cache): it should grow by little more than
 * MESHCACHE_HELD_MAX_BYTES, whatever the number of results.
 */

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN)
  return kb / 1024
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024
}

/**
 * A 4096×4096 picture of a fixture (distinct per index, so every request is a generation):
 * a PNG, or a JPEG (as photos are sent; a small upload that still decodes to 64 MB of pixels).
 */
async function bigPicture(name: string, index: number, format: 'png' | 'jpeg'): Promise<string> {
  const picture = sharp(join(FIXTURES, `${name}.png`))
    .resize(4096, 4096)
    .modulate({ brightness: 1 + index / 1000 })
  const bytes = await (format === 'png'
    ? picture.png({ compressionLevel: 1 })
    : picture.flatten({ background: '#ffffff' }).jpeg({ quality: 90 })
  ).toBuffer()
  return bytes.toString('base64')
}

async function scenario(
  name: string,
  run: (url: string) => Promise<void>,
  env: Record<string, string> = {},
): Promise<{ name: string; idleMb: number; peakMb: number; endMb: number }> {
  const host = await startHost({ MESHCACHE_DATA_DIR: 'off', ...env })
  const pid = host.child.pid as number
  await new Promise((resolve) => setTimeout(resolve, 500))
  const idleMb = residentMb(pid)
  await run(host.url)
  const peakMb = peakRssMb(pid)
  const endMb = residentMb(pid)
  host.child.kill('SIGKILL')
  return { name, idleMb, peakMb, endMb }
}

/** POST /api/jobs; the ids of the jobs it answered. */
async function submitJobs(url: string, body: string): Promise<string[]> {
  const answer = await send(`${url}/api/jobs`, 'POST', body, true, false)
  if (answer.status !== 202) throw new Error(`jobs refused: ${answer.body.toString().slice(0, 300)}`)
  return (JSON.parse(answer.body.toString()) as { jobs: { id: string }[] }).jobs.map((job) => job.id)
}

/** Waits until `count` jobs have finished, and fails if any did not end done. */
async function jobsDone(url: string, count: number): Promise<void> {
  for (;;) {
    const { jobs } = JSON.parse((await send(`${url}/api/jobs`, 'GET')).body.toString()) as {
      jobs: { state: string; error?: string }[]
    }
    const failed = jobs.find((job) => job.state === 'failed' || job.state === 'cancelled')
    if (failed) throw new Error(`a job ended ${failed.state}: ${failed.error ?? ''}`)
    if (jobs.filter((job) => job.state === 'done').length >= count) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const HELD_RESULTS = 60
/** None held (the churn of generating alone), a small budget, and the default (which holds all of them). */
const HELD_BUDGETS_MB = [1, 64, 512]

/**
 * HELD_RESULTS large /send jobs (octree 512: the builtin generator's high quality), one after
 * another, each fetched once completed; then every job's status. Returns how many are still
 * held and how many say they are gone.
 */
async function sendManyLarge(url: string): Promise<{ held: number; gone: number; modelMb: number }> {
  const cache = await send(`${url}/api/cache/config`, 'POST', JSON.stringify({ maxBytes: 1024 * 1024 }))
  if (cache.status !== 200) throw new Error(`config failed: ${cache.body.toString()}`)
  const uids: string[] = []
  let modelBytes = 0
  let completed = 0
  for (let i = 0; i < HELD_RESULTS; i++) {
    // A picture of its own each: the builtin generator keys the picture, not the seed.
    const image = Buffer.from(await numberedPicture(2000 + i, 'trellis-lantern', 512)).toString('base64')
    const sent = await send(`${url}/hunyuan/send`, 'POST', JSON.stringify({ image, octree_resolution: 512 }))
    const { uid } = JSON.parse(sent.body.toString()) as { uid: string }
    uids.push(uid)
    for (;;) {
      const status = JSON.parse((await send(`${url}/hunyuan/status/${uid}`, 'GET')).body.toString()) as {
        status: string
        model_base64?: string
      }
      if (status.status === 'completed') {
        modelBytes += Buffer.byteLength(status.model_base64 ?? '', 'base64')
        completed++
        break
      }
      // Made, but past the held budget at once (a budget smaller than one model).
      if (status.status === 'error' && JSON.stringify(status).includes('MESHCACHE_HELD_MAX_BYTES')) break
      if (status.status !== 'processing') throw new Error(`job ${i}: ${JSON.stringify(status)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  let held = 0
  for (const uid of uids) {
    const status = JSON.parse((await send(`${url}/hunyuan/status/${uid}`, 'GET')).body.toString()) as { status: string }
    if (status.status === 'completed') held++
  }
  return { held, gone: uids.length - held, modelMb: completed ? modelBytes / completed / 1024 / 1024 : Number.NaN }
}

export async function runMemoryBench(): Promise<BenchReport> {
  const names = ['trellis-lantern', 'triposr-teapot', 'trellis-pyramid', 'triposr-robot']
  const pngs = await Promise.all(
    Array.from({ length: 16 }, (_, i) => bigPicture(names[i % names.length] as string, i, 'png')),
  )
  // A warm request carries at most four full-size uploads' worth (WARM_BODY_LIMIT): 32
  // pictures of this size fit only as JPEGs.
  const jpegs = await Promise.all(
    Array.from({ length: 32 }, (_, i) => bigPicture(names[i % names.length] as string, i, 'jpeg')),
  )
  const megabytes = (pictures: string[]): number =>
    pictures.reduce((sum, p) => sum + Buffer.byteLength(p), 0) / pictures.length / 1024 / 1024
  const results = [
    await scenario('16 concurrent generations of 4096×4096 pictures', async (url) => {
      const bodies = pngs.map((image, i) => JSON.stringify({ image, quality: 'draft', seed: i }))
      const answers = await Promise.all(
        bodies.map((body) => send(`${url}/api/generate-3d-cached`, 'POST', body, true, false)),
      )
      const failed = answers.filter((a) => a.status !== 200)
      if (failed.length > 0) throw new Error(`generations failed: ${failed[0]?.body.toString()}`)
    }),
    await scenario('one warm request of 32 pictures of 4096×4096 (JPEG)', async (url) => {
      const requests = jpegs.map((image, i) => ({ image, quality: 'draft', seed: 100 + i }))
      const answer = await send(`${url}/api/cache/warm`, 'POST', JSON.stringify({ requests }), true, false)
      if (answer.status !== 202) throw new Error(`warm failed: ${answer.body.toString()}`)
      // Wait for the background generations.
      for (;;) {
        const stats = JSON.parse((await send(`${url}/api/cache/stats`, 'GET')).body.toString()) as {
          loads: number
          loadFailures: number
        }
        if (stats.loads + stats.loadFailures >= requests.length) break
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }),
  ]
  // The queue (issue 30): jobs keep their pictures in a data folder and hand a few at a time
  // to the generators, so memory should not grow with what waits.
  const jobRuns = [
    await scenario(
      '20 jobs of 4096×4096 pictures, queued one after another',
      async (url) => {
        const ids: string[] = []
        for (let i = 0; i < 20; i++) {
          const image = pngs[i % pngs.length] as string
          const body = JSON.stringify({ requests: [{ image, quality: 'draft', seed: 500 + i }] })
          ids.push(...(await submitJobs(url, body)))
        }
        await jobsDone(url, ids.length)
      },
      { MESHCACHE_DATA_DIR: mkdtempSync(join(tmpdir(), 'meshcache-bench-jobs-')) },
    ),
    await scenario(
      '16 jobs of 4096×4096 pictures, submitted concurrently',
      async (url) => {
        const bodies = pngs.map((image, i) =>
          JSON.stringify({ requests: [{ image, quality: 'draft', seed: 700 + i }] }),
        )
        const ids = (await Promise.all(bodies.map((body) => submitJobs(url, body)))).flat()
        await jobsDone(url, ids.length)
      },
      { MESHCACHE_DATA_DIR: mkdtempSync(join(tmpdir(), 'meshcache-bench-jobs-')) },
    ),
  ]
  results.push(...jobRuns)
  // Four Blender-sized bodies at once: a 64 MB mesh and four 25 MB views each (218 MB of
  // base64), to a host with only the builtin generator, which cannot texture a mesh.
  const meshBody = (n: number): string =>
    JSON.stringify({
      mesh: randomBytes(64 * 1024 * 1024).toString('base64'),
      ...Object.fromEntries(
        ['image', 'image_left', 'image_back', 'image_right'].map((view) => [
          view,
          randomBytes(25 * 1024 * 1024).toString('base64'),
        ]),
      ),
      texture: true,
      seed: n,
    })
  const meshBodies = [0, 1, 2, 3].map(meshBody)
  const bodyMb = Buffer.byteLength(meshBodies[0] as string) / 1024 / 1024
  const meshRun = await scenario(
    `four concurrent ${fmt(bodyMb)} MB /hunyuan/generate bodies (a mesh to texture), refused`,
    async (url) => {
      const answers = await Promise.all(
        meshBodies.map((body) => send(`${url}/hunyuan/generate`, 'POST', body, true, false)),
      )
      const wrong = answers.find((a) => !a.body.toString().includes('Texturing a mesh needs'))
      if (wrong) throw new Error(`not refused as expected: ${wrong.status} ${wrong.body.toString().slice(0, 200)}`)
    },
  )
  const heldRuns = []
  for (const budgetMb of HELD_BUDGETS_MB) {
    let sent = { held: 0, gone: 0, modelMb: 0 }
    const run = await scenario(
      `${HELD_RESULTS} large /hunyuan/send results`,
      async (url) => {
        sent = await sendManyLarge(url)
      },
      { MESHCACHE_HELD_MAX_BYTES: `${budgetMb}MB` },
    )
    heldRuns.push({ ...run, ...sent, budgetMb })
  }
  const rows = results.map((r) => [r.name, fmt(r.idleMb), fmt(r.peakMb), r.peakMb < 400 ? 'yes' : 'no'])
  const meshRows = [[meshRun.name, fmt(meshRun.idleMb), fmt(meshRun.peakMb), meshRun.peakMb < 600 ? 'yes' : 'no']]
  const table = [
    markdownTable(['scenario', 'resident at rest MB', 'peak resident MB', '< 400 MB'], rows),
    '',
    `Uploads (base64, mean): PNG ${fmt(megabytes(pngs), 1)} MB, JPEG ${fmt(megabytes(jpegs), 1)} MB; each decodes to 64 MB of RGBA pixels.`,
    '',
    markdownTable(['scenario', 'resident at rest MB', 'peak resident MB', '< 600 MB'], meshRows),
    '',
    markdownTable(
      [
        'results held in memory',
        'model MB (mean)',
        'held budget MB',
        'resident at rest MB',
        'resident after MB',
        'growth MB',
        'still fetchable',
        'told gone',
      ],
      heldRuns.map((run) => [
        run.name,
        Number.isNaN(run.modelMb) ? 'none held' : fmt(run.modelMb, 1),
        fmt(run.budgetMb),
        fmt(run.idleMb),
        fmt(run.endMb),
        fmt(run.endMb - run.idleMb),
        fmt(run.held),
        fmt(run.gone),
      ]),
    ),
    '',
    `No data folder (MESHCACHE_DATA_DIR=off) and a 1 MB cache, so no tier keeps the models: only the held results do. Resident memory counts garbage not yet collected, so the 1 MB row (which holds none) is the baseline: the growth that making and fetching ${HELD_RESULTS} models leaves by itself. The ${fmt(HELD_BUDGETS_MB.at(-1) ?? 0)} MB row (the default budget) holds every result.`,
  ].join('\n')
  return {
    name: 'memory',
    table,
    data: { pngMb: megabytes(pngs), jpegMb: megabytes(jpegs), results, mesh: meshRun, held: heldRuns },
  }
}
