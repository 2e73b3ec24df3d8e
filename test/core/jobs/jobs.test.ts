import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { dispatch, whenReady } from '../../../src/core/dispatch'
import type { Generator } from '../../../src/core/generation/generator'
import { HunyuanPool } from '../../../src/core/generation/hunyuan/hunyuan-pool'
import { HunyuanServer } from '../../../src/core/generation/hunyuan/hunyuan-server'
import { FolderJobStore } from '../../../src/core/jobs/job-store'
import { Backends } from '../../../src/core/service/backends'
import { ModelService } from '../../../src/core/service/model-service'
import { TieredStore } from '../../../src/core/service/tiered-store'
import { DiskTier } from '../../../src/core/storage/disk-tier'
import { ThumbnailStore } from '../../../src/core/storage/thumbnail-store'
import { appAddresses } from '../../../src/shared/addresses'
import type { JobInfo } from '../../../src/shared/contract'
import { AppError } from '../../../src/shared/errors'
import type { OperationHandlers } from '../../../src/shared/operations'
import { codeOf } from '../../support/code-of'
import { type FakeHunyuan, type FakeOptions, startFakeHunyuan } from '../../support/fake-hunyuan'
import { fixture } from '../../support/fixtures'
import { GatedGenerator } from '../../support/gated-generator'
import { makeService, TEST_SERVER_SETTINGS } from '../../support/stacks'
import { until } from '../../support/until'

/**
 * The queue a user fills and walks away from (issue 30): jobs kept in a data folder before
 * they are acknowledged, run a few at a time, and resumed after a quit: waiting jobs run, a
 * job a 2.1 server accepted is collected by its uid, a 2.0 /generate job is sent again.
 */

const services: ModelService[] = []
const fakes: FakeHunyuan[] = []
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()))
  await Promise.all(fakes.splice(0).map((f) => f.close()))
})

/** A service on a data folder (models and jobs), as the app runs one; again on the same folder for a restart. */
async function serviceOn(dir: string, generators: Generator[]): Promise<ModelService> {
  const store = new TieredStore({
    disk: new DiskTier({ dir: join(dir, 'models'), log: () => undefined }),
    thumbnails: new ThumbnailStore({ dir: join(dir, 'models', 'thumbnails') }),
  })
  const service = new ModelService({
    store,
    backends: new Backends(generators),
    addresses: appAddresses,
    jobStore: new FolderJobStore(join(dir, 'jobs')),
  })
  await service.open()
  services.push(service)
  return service
}

const folder = (): string => mkdtempSync(join(tmpdir(), 'meshcache-jobs-'))
const picture = (name: string) => fixture(name)
const ask = (name: string, overrides: Record<string, unknown> = {}) => ({
  image: picture(name),
  pictureName: `${name}.png`,
  prompt: '',
  quality: 'draft' as const,
  seed: 1,
  reuse: 'exact' as const,
  ...overrides,
})

async function settled(service: ModelService, count: number): Promise<JobInfo[]> {
  await until(
    () =>
      service.queue.list().jobs.filter((job) => ['done', 'failed', 'cancelled'].includes(job.state)).length >= count,
    `${count} jobs finished`,
  )
  return service.queue.list().jobs
}

describe('jobs', () => {
  it('answers at once with kept jobs, runs them, joins an identical one, and lists each with its picture and model', async () => {
    const dir = folder()
    const generator = new GatedGenerator()
    generator.hold()
    const service = await serviceOn(dir, [generator])
    const events: string[] = []
    service.events.on('jobsChanged', ({ job }) => job && events.push(`${job.pictureName}:${job.state}`))
    const { jobs } = await service.submitJobs({
      requests: [ask('triposr-chair'), ask('triposr-robot'), ask('triposr-chair'), ask('triposr-chair', { seed: 2 })],
    })
    expect(jobs.map((job) => job.pictureName)).toEqual([
      'triposr-chair.png',
      'triposr-robot.png',
      'triposr-chair.png',
      'triposr-chair.png',
    ])
    // The identical third request joined the first job.
    expect(jobs[2]?.id).toBe(jobs[0]?.id)
    expect(new Set(jobs.map((job) => job.id)).size).toBe(3)
    // Kept before the answer: a record and a picture for each.
    const kept = readdirSync(join(dir, 'jobs'))
    for (const job of jobs) expect(kept).toEqual(expect.arrayContaining([`${job.id}.json`, `${job.id}.picture`]))
    // Its small picture for the list is made just after the answer.
    await until(async () => (await service.picture(jobs[0]?.id as string)) !== undefined, 'the small picture is made')
    generator.release()
    const done = await settled(service, 3)
    await until(
      () => service.queue.list().jobs.every((job) => job.pictureUrl !== undefined),
      'every small picture is made',
    )
    expect(done.map((job) => job.state)).toEqual(['done', 'done', 'done'])
    for (const job of service.queue.list().jobs) {
      expect(job).toMatchObject({ cache: 'miss', pictureUrl: `/pictures/${job.id}.webp`, server: 'gated' })
      expect(job.modelUrl).toBe(`/models/${job.key}.glb`)
      expect(await service.model(job.key as string)).toBeDefined()
    }
    expect(generator.runs).toBe(3)
    expect(events).toContain('triposr-robot.png:running')
    // Each model's entry keeps the picture's name (its title, having no prompt).
    const entries = await service.entries({ offset: 0, limit: 10, sort: 'createdAt', order: 'asc' })
    expect(entries.items.map((entry) => entry.meta.pictureName).sort()).toEqual([
      'triposr-chair.png',
      'triposr-chair.png',
      'triposr-robot.png',
    ])
    // A done job's picture is let go (just after its record says done); its small picture stays for the list.
    await until(
      () => readdirSync(join(dir, 'jobs')).filter((name) => name.endsWith('.picture')).length === 0,
      "the done jobs' pictures are let go",
    )
    expect(readdirSync(join(dir, 'jobs')).filter((name) => name.endsWith('.webp')).length).toBeGreaterThan(0)
    expect(await service.clearJobs()).toEqual({ cleared: 3 })
    expect(service.queue.list().jobs).toEqual([])
    expect(readdirSync(join(dir, 'jobs')).filter((name) => !name.startsWith('set-aside'))).toEqual([])
  })

  it('joins identical requests sent at once (a double click) into one job', async () => {
    const generator = new GatedGenerator()
    const service = await serviceOn(folder(), [generator])
    const answers = await Promise.all([1, 2, 3].map(() => service.submitJobs({ requests: [ask('triposr-robot')] })))
    expect(new Set(answers.map(({ jobs }) => jobs[0]?.id)).size).toBe(1)
    await settled(service, 1)
    expect(service.queue.list().jobs).toHaveLength(1)
    expect(generator.runs).toBe(1)
  })

  it('answers a job whose model is cached at once, done, keeping nothing on disk', async () => {
    const dir = folder()
    const generator = new GatedGenerator()
    const service = await serviceOn(dir, [generator])
    const first = await service.submitJobs({ requests: [ask('triposr-robot')] })
    await settled(service, 1)
    await service.clearJobs()
    const { jobs } = await service.submitJobs({ requests: [ask('triposr-robot')] })
    expect(jobs[0]).toMatchObject({
      state: 'done',
      cache: 'hit',
      key: (first.jobs[0] as JobInfo).key ?? expect.any(String),
    })
    expect(jobs[0]?.result).toMatchObject({ cache: 'hit' })
    expect(jobs[0]?.pictureUrl).toBe(`/thumbnails/${jobs[0]?.key}.webp`)
    expect(generator.runs).toBe(1)
    expect(readdirSync(join(dir, 'jobs')).filter((name) => name.endsWith('.picture'))).toEqual([])
  })

  it("keeps a job's last state on disk: its record's writes land in order, and a job done at a stop is saved done", async () => {
    const dir = folder()
    const store = new FolderJobStore(join(dir, 'jobs'))
    const update = store.update.bind(store)
    let calls = 0
    // The record's second write (the job started) is slow, as a busy disk makes one.
    store.update = async (record) => {
      if (++calls === 2) await new Promise((resolve) => setTimeout(resolve, 100))
      return update(record)
    }
    const service = new ModelService({
      store: new TieredStore({ thumbnails: new ThumbnailStore() }),
      backends: new Backends([new GatedGenerator()]),
      addresses: appAddresses,
      jobStore: store,
    })
    await service.open()
    const { jobs } = await service.submitJobs({ requests: [ask('triposr-chair')] })
    await settled(service, 1)
    await service.close()
    const kept = JSON.parse(readFileSync(join(dir, 'jobs', `${jobs[0]?.id}.json`), 'utf8'))
    expect(kept.state).toBe('done')
  })

  it('refuses a batch with a file that is not a picture, keeping nothing', async () => {
    const dir = folder()
    const service = await serviceOn(dir, [new GatedGenerator()])
    const batch = [ask('triposr-chair'), { ...ask('triposr-robot'), image: new TextEncoder().encode('not a picture') }]
    expect(await codeOf(service.submitJobs({ requests: batch }))).toBe('UNSUPPORTED_FORMAT')
    expect(service.queue.list().jobs).toEqual([])
    expect(readdirSync(join(dir, 'jobs'))).toEqual([])
  })

  it('runs a few at a time while the rest wait on disk, in order, with their positions', async () => {
    const generator = new GatedGenerator()
    generator.hold()
    const service = await serviceOn(folder(), [generator])
    const names = ['triposr-chair', 'triposr-robot', 'triposr-teapot', 'trellis-lantern', 'triposr-hamburger']
    await service.submitJobs({ requests: names.map((name) => ask(name)) })
    await generator.jobsStarted(1)
    const { jobs } = service.queue.list()
    expect(jobs.map((job) => job.state)).toEqual(['running', 'running', 'waiting', 'waiting', 'waiting'])
    expect(jobs.slice(2).map((job) => job.position)).toEqual([1, 2, 3])
    generator.release()
    expect((await settled(service, 5)).every((job) => job.state === 'done')).toBe(true)
  })

  it("lets a transport's pictures go once kept on disk, and the pictures it read once used; a caller's own stay", async () => {
    // Keeps a copy of each picture it is given, as it is given (the job empties its own later).
    const generator = new (class extends GatedGenerator {
      readonly copies: Buffer[] = []
      override generate(...[input, options]: Parameters<GatedGenerator['generate']>) {
        this.copies.push(Buffer.from(input.image))
        return super.generate(input, options)
      }
    })()
    generator.hold()
    const service = await serviceOn(folder(), [generator])
    // As a transport calls: bytes made for this call alone (see dispatch).
    const submit = (input: unknown) =>
      dispatch(
        whenReady(Promise.resolve(service)) as unknown as Pick<OperationHandlers, 'submitJobs'>,
        'submitJobs',
        input,
        {},
        true,
      )
    const chair = fixture('triposr-chair')
    const robot = fixture('triposr-robot')
    const expected = [Buffer.from(chair), Buffer.from(robot)]
    await submit({ requests: [ask('triposr-chair', { image: chair }), ask('triposr-robot', { image: robot })] })
    expect([chair.byteLength, robot.byteLength]).toEqual([0, 0])
    // Variants of one picture share its bytes: they are the caller's, not one job's.
    const shared = fixture('triposr-teapot')
    await submit({ requests: [1, 2].map((seed) => ask('triposr-teapot', { image: shared, seed })) })
    expect(shared.byteLength).toBeGreaterThan(0)
    // Bytes a caller holds (not made for the call) are never emptied.
    const own = fixture('trellis-lantern')
    await service.submitJobs({ requests: [ask('trellis-lantern', { image: own })] })
    expect(own.byteLength).toBeGreaterThan(0)
    generator.release()
    expect((await settled(service, 5)).every((job) => job.state === 'done')).toBe(true)
    // The first two jobs (either may reach the generator first) ran from their copies on disk, byte for byte.
    const firstTwo = generator.copies.slice(0, 2)
    expect(expected.every((bytes) => firstTwo.some((given) => given.equals(bytes)))).toBe(true)
    // The bytes read back for a run are emptied once its model is made.
    expect(generator.pictures.map((given) => given.byteLength)).toEqual([0, 0, 0, 0, 0])
  })

  it("keeps its own copy of a transport's picture without a data folder", async () => {
    const generator = new GatedGenerator()
    const service = await makeService({ generators: [generator], disk: false }, appAddresses)
    services.push(service)
    const chair = fixture('triposr-chair')
    const expected = Buffer.from(chair)
    const copied: Buffer[] = []
    const generate = generator.generate.bind(generator)
    generator.generate = (input, options) => {
      copied.push(Buffer.from(input.image))
      return generate(input, options)
    }
    await dispatch(
      whenReady(Promise.resolve(service)) as unknown as Pick<OperationHandlers, 'submitJobs'>,
      'submitJobs',
      { requests: [ask('triposr-chair', { image: chair })] },
      {},
      true,
    )
    expect(chair.byteLength).toBe(0)
    expect((await settled(service, 1))[0]?.state).toBe('done')
    expect(copied).toEqual([expected])
  })

  it('cancels a waiting job and a running one, and retries a failed one at the end of the queue', async () => {
    const generator = new GatedGenerator()
    generator.hold()
    const service = await serviceOn(folder(), [generator])
    const names = ['triposr-chair', 'triposr-robot', 'triposr-teapot', 'trellis-lantern']
    const { jobs } = await service.submitJobs({ requests: names.map((name) => ask(name)) })
    await generator.jobsStarted(1)
    const [running, , , waiting] = jobs as [JobInfo, JobInfo, JobInfo, JobInfo]
    expect(await service.cancelJob({ id: waiting.id })).toMatchObject({ state: 'cancelled' })
    await service.cancelJob({ id: running.id })
    await until(() => service.queue.list().jobs[0]?.state === 'cancelled', 'the running job stopped')
    generator.failure = new AppError('BACKEND_FAILED', 'the GPU fell over')
    generator.release()
    const after = await settled(service, 4)
    expect(after.map((job) => job.state)).toEqual(['cancelled', 'failed', 'failed', 'cancelled'])
    expect(after[1]?.error).toBe('the GPU fell over')
    generator.failure = undefined
    expect(await service.retryJob({ id: after[1]?.id as string })).toMatchObject({ state: 'waiting' })
    await until(() => service.queue.list().jobs.at(-1)?.state === 'done', 'the retried job is done')
    expect(service.queue.list().jobs.at(-1)?.id).toBe(after[1]?.id)
    expect(await codeOf(service.retryJob({ id: after[1]?.id as string }))).toBe('INVALID_REQUEST')
    expect(await codeOf(service.cancelJob({ id: '0'.repeat(32) }))).toBe('NOT_FOUND')
  })

  it('resumes after a quit: what waited runs, what ran runs again and says so', async () => {
    const dir = folder()
    const first = new GatedGenerator()
    first.hold()
    const before = await serviceOn(dir, [first])
    const names = ['triposr-chair', 'triposr-robot', 'triposr-teapot', 'trellis-lantern', 'triposr-hamburger']
    const { jobs } = await before.submitJobs({ requests: names.map((name) => ask(name)) })
    await first.jobsStarted(1)
    // Two are handed to the generators (one generating, one in its queue); three wait on disk.
    expect(before.queue.list().jobs.map((job) => job.state)).toEqual([
      'running',
      'running',
      'waiting',
      'waiting',
      'waiting',
    ])
    await before.close()
    services.splice(services.indexOf(before), 1)

    const again = new GatedGenerator()
    const after = await serviceOn(dir, [again])
    const done = await settled(after, 5)
    expect(done.map((job) => job.id)).toEqual(jobs.map((job) => job.id))
    expect(done.every((job) => job.state === 'done')).toBe(true)
    // Only the one that had started (whichever of the two was keyed first) says so; the one
    // in the generator's queue had not, nor had those waiting on disk.
    expect(done.slice(0, 2).filter((job) => job.resumed === 'run again')).toHaveLength(1)
    expect(done.map((job) => job.resumed).filter(Boolean)).toEqual(['run again'])
    expect(again.runs).toBe(5)
  })

  it('sets a damaged job record aside and says so, starting with the rest', async () => {
    const dir = folder()
    const generator = new GatedGenerator()
    generator.hold()
    const before = await serviceOn(dir, [generator])
    const { jobs } = await before.submitJobs({ requests: [ask('triposr-chair'), ask('triposr-robot')] })
    await before.close()
    services.splice(services.indexOf(before), 1)
    writeFileSync(join(dir, 'jobs', `${jobs[0]?.id}.json`), '{"v":1,"id":')

    const after = await serviceOn(dir, [new GatedGenerator()])
    const list = await after.jobs()
    expect(list.problems).toEqual([expect.stringMatching(/could not be read, so it was set aside in .*set-aside/)])
    expect(list.jobs.map((job) => job.id)).toEqual([jobs[1]?.id])
    expect(readdirSync(join(dir, 'jobs', 'set-aside'))).toHaveLength(3)
    await settled(after, 1)
  })
})

describe('jobs on GPU servers, across a quit', () => {
  async function fake(options: FakeOptions): Promise<FakeHunyuan> {
    const started = await startFakeHunyuan(options)
    fakes.push(started)
    return started
  }
  const poolOf = (url: string) => new HunyuanPool([new HunyuanServer({ url, ...TEST_SERVER_SETTINGS })])

  it('collects a job a 2.1 server accepted by its uid: no second GPU job', async () => {
    const dir = folder()
    const gpu = await fake({ variant: '2.1', held: true })
    const before = await serviceOn(dir, [poolOf(gpu.url)])
    const { jobs } = await before.submitJobs({ requests: [ask('triposr-chair')] })
    await gpu.untilReceived(1)
    const record = join(dir, 'jobs', `${jobs[0]?.id}.json`)
    await until(() => JSON.parse(readFileSync(record, 'utf8')).remote?.uid !== undefined, 'its uid is kept')
    await before.close()
    services.splice(services.indexOf(before), 1)

    const after = await serviceOn(dir, [poolOf(gpu.url)])
    expect(after.queue.list().jobs[0]).toMatchObject({ id: jobs[0]?.id, resumed: 'collected' })
    await gpu.release()
    const [done] = await settled(after, 1)
    expect(done).toMatchObject({ state: 'done', resumed: 'collected', server: gpu.url })
    expect(await gpu.stats()).toMatchObject({ shape_jobs: 1, completed: 1 })
    expect((await gpu.stats()).received).toHaveLength(1)
  })

  it('sends a 2.0 /generate job again (its answer died with the connection), and says so', async () => {
    const dir = folder()
    const gpu = await fake({ variant: '2.0', held: true })
    const before = await serviceOn(dir, [poolOf(gpu.url)])
    await before.submitJobs({ requests: [ask('triposr-chair')] })
    await gpu.untilReceived(1)
    await until(() => before.queue.list().jobs[0]?.server === gpu.url, 'where it runs is known')
    await before.close()
    services.splice(services.indexOf(before), 1)

    const after = await serviceOn(dir, [poolOf(gpu.url)])
    await gpu.release()
    const [done] = await settled(after, 1)
    expect(done).toMatchObject({ state: 'done', resumed: 'sent again' })
    expect((await gpu.stats()).received).toHaveLength(2)
  })
})
