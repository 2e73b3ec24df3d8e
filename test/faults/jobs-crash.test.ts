import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import validator from 'gltf-validator'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobInfo, JobsList, SubmitJobsResult } from '../../src/shared/contract'
import { type FakeHunyuan, type FakeVariant, startFakeHunyuan } from '../support/fake-hunyuan'
import { fixture } from '../support/fixtures'
import { type HostProcess, startHostProcess } from '../support/host-process'
import { until } from '../support/until'

/**
 * A queue filled, then the app killed (kill -9) at a random point while one job runs on a GPU
 * server and three wait: the next start finishes all four. A 2.1 server's job is collected by
 * its /send uid (exactly four shape jobs upstream); a 2.0 /generate job cannot be collected
 * once its connection is gone, so it alone is sent twice, and the list says so.
 */

const PICTURES = ['triposr-chair', 'triposr-robot', 'triposr-teapot', 'trellis-lantern']
const hosts: HostProcess[] = []
const fakes: FakeHunyuan[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.crash()))
  await Promise.all(fakes.splice(0).map((fake) => fake.close()))
})

async function host(env: Record<string, string>): Promise<HostProcess> {
  const started = await startHostProcess(env)
  hosts.push(started)
  return started
}

async function submit(target: HostProcess): Promise<JobInfo[]> {
  const requests = PICTURES.map((name) => ({
    image: Buffer.from(fixture(name)).toString('base64'),
    pictureName: `${name}.png`,
    quality: 'draft',
    seed: 11,
  }))
  const response = await fetch(`${target.url}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requests }),
  })
  expect(response.status).toBe(202)
  return ((await response.json()) as SubmitJobsResult).jobs
}

const list = async (target: HostProcess): Promise<JobInfo[]> =>
  ((await (await fetch(`${target.url}/api/jobs`)).json()) as JobsList).jobs

/** What the data folder holds of a job: the record written before each change is acknowledged. */
const kept = (dataDir: string, id: string): { server?: string; remote?: { uid: string } } =>
  JSON.parse(readFileSync(join(dataDir, 'jobs', `${id}.json`), 'utf8'))

async function isValidGlb(target: HostProcess, job: JobInfo): Promise<boolean> {
  const bytes = new Uint8Array(await (await fetch(`${target.url}${job.modelUrl}`)).arrayBuffer())
  const report = await validator.validateBytes(bytes)
  return report.issues.numErrors === 0
}

describe.each([
  ['2.1', 'collected', 4],
  ['2.0', 'sent again', 5],
] as const)('jobs on a Hunyuan3D %s server across kill -9', (variant: FakeVariant, resumed, sent) => {
  it(`finishes every accepted job; the running one is ${resumed}`, async () => {
    const gpu = await startFakeHunyuan({ variant, held: true })
    fakes.push(gpu)
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-jobs-crash-'))
    const env = { MESHCACHE_DATA_DIR: dataDir, MESHCACHE_HUNYUAN_URL: gpu.url }
    const first = await host(env)
    const jobs = await submit(first)
    expect(jobs.map((job) => job.state)).toEqual(['waiting', 'waiting', 'waiting', 'waiting'])
    await gpu.untilReceived(1)
    // One runs on the GPU server (whichever was keyed first), and where it runs (its uid, for /send) is kept.
    const runsThere = (job: JobInfo): boolean =>
      variant === '2.1' ? kept(dataDir, job.id).remote !== undefined : kept(dataDir, job.id).server === gpu.url
    await until(() => jobs.some(runsThere), 'the running job is kept with where it runs')
    const running = jobs.find(runsThere) as JobInfo
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 200))
    await first.crash()

    const second = await host(env)
    await gpu.release()
    await until(async () => (await list(second)).every((job) => job.state === 'done'), 'all four are done')
    const after = await list(second)
    expect(after.map((job) => job.id)).toEqual(jobs.map((job) => job.id))
    expect(after.map((job) => job.resumed)).toEqual(after.map((job) => (job.id === running.id ? resumed : undefined)))
    const stats = await gpu.stats()
    expect(stats.received).toHaveLength(sent)
    expect(stats.shape_jobs).toBe(sent)
    for (const job of after) expect(await isValidGlb(second, job)).toBe(true)
  })
})
