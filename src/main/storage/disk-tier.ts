import { createHash, randomBytes } from 'node:crypto'
import * as nodeFs from 'node:fs/promises'
import { join } from 'node:path'
import type { CacheEntryInfo, DiskStats, EntryMeta } from '../../shared/cache-types'
import { DEFAULT_DISK_MAX_BYTES } from '../../shared/cache-types'
import { LruCache } from '../cache'

/** What the disk tier knows of one model; the bytes live in `<file>.glb`. */
export interface DiskRecord extends CacheEntryInfo {
  /** SHA-256 of the GLB: its file name (content-addressed) and its checksum. */
  file: string
}

/** The file operations the tier uses, so tests can inject a full disk or a failing rename. */
export type DiskFs = Pick<typeof nodeFs, 'mkdir' | 'readFile' | 'readdir' | 'rm' | 'rename' | 'open'>

export interface DiskTierOptions {
  dir: string
  maxBytes?: number
  fs?: DiskFs
  now?: () => number
  /** How long index updates are gathered before one atomic write. */
  saveDelayMs?: number
}

const INDEX = 'index.json'
/** Recency-only index updates wait this many times longer than content changes. */
const RECENCY_SAVE_FACTOR = 25
const TMP_PREFIX = '.tmp-'
const MODEL_FILE = /^([0-9a-f]{64})\.glb$/

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function explainFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOSPC') return 'The disk is full: models are kept in memory only until space is freed.'
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return 'MeshCache may not write to its data folder: models are kept in memory only.'
  }
  if (code === 'ENOTDIR' || code === 'EEXIST')
    return 'The data folder path is not a folder: models are kept in memory only.'
  return `Saving models to disk failed (${code ?? 'unknown error'}): they are kept in memory only.`
}

/**
 * The persistent tier: content-addressed GLB files and an index under the app's data folder,
 * with its own byte limit and LRU eviction. Every write is atomic (temporary file, fsync,
 * rename), so an interrupted write can never become a corrupt hit; on open, files that are
 * missing or whose hash does not match are dropped. Failures (full disk, permissions) never
 * reach the caller: they are counted and reported in the statistics.
 */
export class DiskTier {
  private readonly dir: string
  private readonly fs: DiskFs
  private readonly now: () => number
  private readonly saveDelayMs: number
  /** Our own LRU cache orders the index: its byte limit is the disk limit. */
  private readonly index: LruCache<DiskRecord>
  private readonly pendingDeletes = new Set<string>()
  private saveTimer: ReturnType<typeof setTimeout> | undefined
  private saveDue = 0
  private saving: Promise<void> = Promise.resolve()
  private usable = false
  private counts = { hits: 0, misses: 0, writes: 0, writeFailures: 0, readFailures: 0, dropped: 0, evictions: 0 }
  private lastError: string | undefined

  constructor(options: DiskTierOptions) {
    this.dir = options.dir
    this.fs = options.fs ?? nodeFs
    this.now = options.now ?? Date.now
    this.saveDelayMs = options.saveDelayMs ?? 200
    this.index = new LruCache<DiskRecord>({
      maxItems: 10_000_000,
      maxBytes: options.maxBytes ?? DEFAULT_DISK_MAX_BYTES,
      sizeOf: (record) => record.bytes,
      onEvict: (_key, entry, reason) => {
        if (reason === 'maxBytes' || reason === 'maxItems') this.counts.evictions++
        this.release(entry.value.file)
      },
    })
  }

  get enabled(): boolean {
    return this.usable
  }

  /**
   * Creates the folder, removes stray temporary files, reads the index and checks every file
   * against its hash; what is missing or corrupt is dropped, files nobody references removed.
   */
  async open(): Promise<void> {
    try {
      await this.fs.mkdir(this.dir, { recursive: true })
      const names = await this.fs.readdir(this.dir)
      for (const name of names) if (name.startsWith(TMP_PREFIX)) await this.fs.rm(join(this.dir, name), { force: true })
      const records = await this.readIndex()
      const present = new Set(names.filter((n) => MODEL_FILE.test(n)).map((n) => n.slice(0, 64)))
      const verified = new Map<string, boolean>()
      for (const record of records) {
        let ok = verified.get(record.file)
        if (ok === undefined) {
          ok = present.has(record.file) && (await this.verify(record.file, record.bytes))
          verified.set(record.file, ok)
        }
        if (ok) this.index.set(record.key, record)
        else this.counts.dropped++
      }
      const referenced = new Set(this.recent().map((r) => r.file))
      for (const file of present) {
        if (!referenced.has(file)) await this.fs.rm(this.path(file), { force: true })
      }
      this.usable = true
      await this.saveNow()
    } catch (error) {
      this.usable = false
      this.lastError = explainFailure(error)
    }
  }

  /**
   * Reads a model back, checking its length and hash; a bad file is dropped, never returned.
   * `use: false` (warming memory at start) neither counts nor changes recency.
   */
  async read(key: string, { use = true } = {}): Promise<{ bytes: Uint8Array; record: DiskRecord } | undefined> {
    const record = this.index.peek(key)
    if (!record || !this.usable) {
      if (use) this.counts.misses++
      return undefined
    }
    try {
      const bytes = new Uint8Array(await this.fs.readFile(this.path(record.file)))
      if (bytes.byteLength !== record.bytes || sha256(bytes) !== record.file) throw new Error('checksum mismatch')
      if (use) {
        this.counts.hits++
        this.touch(key)
      }
      return { bytes, record }
    } catch {
      this.counts.readFailures++
      this.counts.misses++
      this.index.delete(key)
      this.scheduleSave()
      return undefined
    }
  }

  /** Stores a model. Never throws: a failure is counted and described in the statistics. */
  async write(key: string, bytes: Uint8Array, info: { generationMs: number; meta: EntryMeta }): Promise<boolean> {
    if (!this.usable) return false
    const file = sha256(bytes)
    const time = this.now()
    try {
      if (bytes.byteLength > this.index.getLimits().maxBytes) return false
      const target = this.path(file)
      // Identical models share one file: write it only when no other key has it already.
      if (!this.recent().some((r) => r.file === file)) await this.writeAtomically(target, bytes)
      this.pendingDeletes.delete(file)
      this.index.set(key, {
        key,
        file,
        bytes: bytes.byteLength,
        createdAt: time,
        lastAccessAt: time,
        hits: 0,
        generationMs: info.generationMs,
        meta: info.meta,
      })
      this.counts.writes++
      this.lastError = undefined
      this.scheduleSave()
      return true
    } catch (error) {
      this.counts.writeFailures++
      this.lastError = explainFailure(error)
      return false
    }
  }

  /** A use of the model (from either tier): recency and hit count for the disk's own LRU. */
  touch(key: string): void {
    const record = this.index.get(key)
    if (!record) return
    record.hits++
    record.lastAccessAt = this.now()
    this.scheduleSave('recency')
  }

  delete(key: string): boolean {
    const removed = this.index.delete(key)
    if (removed) this.scheduleSave()
    return removed
  }

  clear(): number {
    const removed = this.index.size
    this.index.clear()
    this.scheduleSave()
    return removed
  }

  setMaxBytes(maxBytes: number): void {
    this.index.setLimits({ maxBytes })
    this.scheduleSave()
  }

  /** Records from most to least recently used. */
  recent(): DiskRecord[] {
    return this.index.keys().flatMap((key) => this.index.peek(key) ?? [])
  }

  /** Copies of the records, most recent first. */
  entries(): DiskRecord[] {
    return this.recent().map((r) => ({ ...r }))
  }

  stats(): DiskStats {
    const { maxBytes } = this.index.getLimits()
    return {
      enabled: this.usable,
      ...this.counts,
      currentItems: this.index.size,
      currentBytes: this.index.currentBytes,
      maxBytes,
      lastError: this.lastError ?? null,
    }
  }

  /** Writes the index now and waits for file removals (on quit, and in tests). */
  async flush(): Promise<void> {
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    await this.saveNow()
  }

  private path(file: string): string {
    return join(this.dir, `${file}.glb`)
  }

  private async verify(file: string, bytes: number): Promise<boolean> {
    try {
      const data = new Uint8Array(await this.fs.readFile(this.path(file)))
      return data.byteLength === bytes && sha256(data) === file
    } catch {
      return false
    }
  }

  private async readIndex(): Promise<DiskRecord[]> {
    try {
      const parsed = JSON.parse(await this.fs.readFile(join(this.dir, INDEX), 'utf8')) as {
        version?: unknown
        entries?: unknown
      }
      if (parsed.version !== 1 || !Array.isArray(parsed.entries)) return []
      return parsed.entries.filter(isRecord)
    } catch {
      // No index yet, or an unreadable one: start empty; unreferenced files are removed.
      return []
    }
  }

  /** Temporary file, fsync, rename: the final name only ever holds a complete file. */
  private async writeAtomically(target: string, data: Uint8Array | string): Promise<void> {
    const temporary = join(this.dir, `${TMP_PREFIX}${randomBytes(6).toString('hex')}`)
    try {
      const handle = await this.fs.open(temporary, 'w')
      try {
        await handle.writeFile(data)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await this.fs.rename(temporary, target)
    } catch (error) {
      await this.fs.rm(temporary, { force: true }).catch(() => undefined)
      throw error
    }
  }

  /** A file is removed once no key refers to it any more (identical models share one file). */
  private release(file: string): void {
    this.pendingDeletes.add(file)
  }

  /**
   * Gathers index changes into one atomic write. A change of contents is saved soon; a mere
   * use (recency, hit count) can wait longer, so a burst of hits does not fsync the index.
   */
  private scheduleSave(kind: 'contents' | 'recency' = 'contents'): void {
    if (!this.usable) return
    const delay = kind === 'contents' ? this.saveDelayMs : this.saveDelayMs * RECENCY_SAVE_FACTOR
    const due = Date.now() + delay
    if (this.saveTimer && this.saveDue <= due) return
    clearTimeout(this.saveTimer)
    this.saveDue = due
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined
      void this.saveNow()
    }, delay)
    this.saveTimer.unref?.()
  }

  private saveNow(): Promise<void> {
    // One save at a time, in order.
    this.saving = this.saving.then(async () => {
      if (!this.usable) return
      try {
        const referenced = new Set(this.recent().map((r) => r.file))
        for (const file of [...this.pendingDeletes]) {
          this.pendingDeletes.delete(file)
          if (!referenced.has(file)) await this.fs.rm(this.path(file), { force: true })
        }
        const entries = this.recent().reverse() // least recent first: reloading in order rebuilds recency
        await this.writeAtomically(join(this.dir, INDEX), JSON.stringify({ version: 1, entries }))
      } catch (error) {
        this.counts.writeFailures++
        this.lastError = explainFailure(error)
      }
    })
    return this.saving
  }
}

function isRecord(value: unknown): value is DiskRecord {
  if (typeof value !== 'object' || value === null) return false
  const r = value as Record<string, unknown>
  return (
    typeof r.key === 'string' &&
    /^[0-9a-f]{64}$/.test(r.key) &&
    typeof r.file === 'string' &&
    /^[0-9a-f]{64}$/.test(r.file) &&
    Number.isSafeInteger(r.bytes) &&
    typeof r.createdAt === 'number' &&
    typeof r.lastAccessAt === 'number' &&
    typeof r.hits === 'number' &&
    typeof r.generationMs === 'number' &&
    typeof r.meta === 'object' &&
    r.meta !== null
  )
}
