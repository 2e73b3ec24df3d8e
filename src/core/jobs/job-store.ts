import * as nodeFs from 'node:fs/promises'
import { join } from 'node:path'
import { type StorageFs, sweepTemporaries, writeFileAtomically } from '../storage/atomic-write'
import { type JobRecord, jobRecordSchema } from './job-record'

/** The files of one job: its record, its picture as uploaded, and a small picture for the list. */
const RECORD = '.json'
const PICTURE = '.picture'
const SMALL = '.webp'
/** Records that could not be read go here, with their pictures, never deleted. */
const SET_ASIDE = 'set-aside'

export interface LoadedJobs {
  records: JobRecord[]
  /** What was set aside, in words. */
  problems: string[]
}

/**
 * Where jobs live between the moment they are accepted and the moment they are cleared. With
 * a data folder: one folder, each job as `<id>.json` (written atomically: a temporary file,
 * fsync, rename, fsync of the folder) beside `<id>.picture` and `<id>.webp`, the picture
 * written first, so a record on disk always has its picture. A record that cannot be read is
 * moved to `set-aside/` and reported; it never stops a start and never touches the models.
 * Without a data folder, jobs live in memory and end with the process.
 */
export interface JobStore {
  load(): Promise<LoadedJobs>
  /** Keeps a new job durably: it may be acknowledged once this resolves. The caller's bytes are not kept. */
  create(record: JobRecord, picture: Uint8Array): Promise<void>
  /** Keeps a job's small picture (made after it was acknowledged). */
  putSmall(id: string, small: Uint8Array): Promise<void>
  update(record: JobRecord): Promise<void>
  /** A job's picture, as bytes of the caller's own (it may empty them once done; see release). */
  picture(id: string): Promise<Uint8Array | undefined>
  small(id: string): Promise<Uint8Array | undefined>
  /** Lets a job's picture go (a done job needs it no more); its small picture stays for the list. */
  dropPicture(id: string): Promise<void>
  remove(id: string): Promise<void>
}

export class FolderJobStore implements JobStore {
  private readonly fs: StorageFs

  constructor(
    private readonly dir: string,
    fs?: StorageFs,
  ) {
    this.fs = fs ?? nodeFs
  }

  async load(): Promise<LoadedJobs> {
    await this.fs.mkdir(this.dir, { recursive: true })
    const names = await this.fs.readdir(this.dir)
    await sweepTemporaries(this.fs, this.dir, names)
    const records: JobRecord[] = []
    const problems: string[] = []
    const ids = new Set<string>()
    for (const name of names.filter((each) => each.endsWith(RECORD)).sort()) {
      const id = name.slice(0, -RECORD.length)
      const record = await this.read(name)
      if (record && record.id === id && (!record.hasPicture || names.includes(`${id}${PICTURE}`))) {
        records.push(record)
        ids.add(id)
        // A done job's picture is let go after its record says so: a crash between leaves it here.
        if (!record.hasPicture) await this.dropPicture(id)
        continue
      }
      await this.setAside(id)
      problems.push(`A queued job (${name}) could not be read, so it was set aside in ${join(this.dir, SET_ASIDE)}.`)
    }
    // A picture without a record is a job that was never acknowledged (the app stopped between the two writes).
    for (const name of names) {
      const id = name.replace(/\.(picture|webp)$/, '')
      if (id !== name && !ids.has(id) && !names.includes(`${id}${RECORD}`)) {
        await this.fs.rm(join(this.dir, name), { force: true })
      }
    }
    return { records: records.sort((a, b) => a.queuedAt - b.queuedAt), problems }
  }

  async create(record: JobRecord, picture: Uint8Array): Promise<void> {
    await writeFileAtomically(this.fs, this.path(record.id, PICTURE), picture)
    await this.update(record)
  }

  putSmall(id: string, small: Uint8Array): Promise<void> {
    return writeFileAtomically(this.fs, this.path(id, SMALL), small)
  }

  update(record: JobRecord): Promise<void> {
    return writeFileAtomically(this.fs, this.path(record.id, RECORD), `${JSON.stringify(record)}\n`)
  }

  picture(id: string): Promise<Uint8Array | undefined> {
    return this.fs.readFile(this.path(id, PICTURE)).catch(() => undefined)
  }

  small(id: string): Promise<Uint8Array | undefined> {
    return this.fs.readFile(this.path(id, SMALL)).catch(() => undefined)
  }

  async dropPicture(id: string): Promise<void> {
    await this.fs.rm(this.path(id, PICTURE), { force: true })
  }

  async remove(id: string): Promise<void> {
    // The record first: a crash between the removals leaves files the next load sweeps away.
    await this.fs.rm(this.path(id, RECORD), { force: true })
    await Promise.all([PICTURE, SMALL].map((suffix) => this.fs.rm(this.path(id, suffix), { force: true })))
  }

  private async read(name: string): Promise<JobRecord | undefined> {
    try {
      const parsed = jobRecordSchema.safeParse(JSON.parse(await this.fs.readFile(join(this.dir, name), 'utf8')))
      return parsed.success ? parsed.data : undefined
    } catch {
      return undefined
    }
  }

  private async setAside(id: string): Promise<void> {
    const aside = join(this.dir, SET_ASIDE)
    await this.fs.mkdir(aside, { recursive: true })
    for (const suffix of [RECORD, PICTURE, SMALL]) {
      const name = `${id}${suffix}`
      await this.fs.rename(join(this.dir, name), join(aside, `${Date.now()}-${name}`)).catch(() => undefined)
    }
  }

  private path(id: string, suffix: string): string {
    return join(this.dir, `${id}${suffix}`)
  }
}

/** Jobs without a data folder: in memory, for as long as the process runs. */
export class MemoryJobStore implements JobStore {
  private readonly pictures = new Map<string, Uint8Array>()
  private readonly smalls = new Map<string, Uint8Array>()

  async load(): Promise<LoadedJobs> {
    return { records: [], problems: [] }
  }

  async create(record: JobRecord, picture: Uint8Array): Promise<void> {
    // Its own copy: the caller may empty its bytes once kept (a Buffer's slice() would share them).
    this.pictures.set(record.id, new Uint8Array(picture))
  }

  async putSmall(id: string, small: Uint8Array): Promise<void> {
    this.smalls.set(id, small)
  }

  async update(): Promise<void> {}

  async picture(id: string): Promise<Uint8Array | undefined> {
    const picture = this.pictures.get(id)
    return picture && new Uint8Array(picture)
  }

  async small(id: string): Promise<Uint8Array | undefined> {
    return this.smalls.get(id)
  }

  async dropPicture(id: string): Promise<void> {
    this.pictures.delete(id)
  }

  async remove(id: string): Promise<void> {
    this.pictures.delete(id)
    this.smalls.delete(id)
  }
}
