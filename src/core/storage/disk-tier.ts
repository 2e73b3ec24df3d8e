import { createHash, webcrypto } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import * as nodeFs from 'node:fs/promises'
import { join } from 'node:path'
import { MODEL_KEY_PATTERN } from '../../shared/addresses'
import type { DiskStats, EvictionPolicyName } from '../../shared/cache-types'
import { DEFAULT_DISK_MAX_BYTES } from '../../shared/cache-types'
import { BoundedCache } from '../cache'
import { explainStorageFailure, type StorageFs, sweepTemporaries, writeFileAtomically } from './atomic-write'
import { ContentStore } from './content-store'
import {
  DISK_FORMAT,
  type DiskRecord,
  type IndexSnapshot,
  newRecord,
  parseRecord,
  readSnapshotText,
} from './disk-records'
import { KeyedChains } from './keyed-chains'
import type { PersistentTier, StoredModel, WriteInfo } from './persistent-tier'

export interface DiskTierOptions {
  dir: string
  maxBytes?: number
  policy?: EvictionPolicyName
  fs?: StorageFs
  now?: () => number
  /** How long index changes are gathered before the snapshot is rewritten. */
  snapshotDelayMs?: number
  /** Where problems found at start are told to the operator (besides lastError). */
  log?: (message: string) => void
}

const FORMAT_FILE = 'FORMAT'
const SNAPSHOT = 'index.json'
const RECORDS = 'records'
const LOST_AND_FOUND = 'lost+found'
const hex64 = MODEL_KEY_PATTERN.source.slice(1, -1)
const MODEL_FILE = new RegExp(`^(${hex64})\\.glb$`)
const RECORD_FILE = new RegExp(`^(${hex64})\\.json$`)
/** Recency-only snapshot updates wait this many times longer than content changes. */
const RECENCY_FACTOR = 15
/** Reads of a model file go in pieces of this size, hashed as they arrive. */
const READ_CHUNK = 1024 * 1024
/** Opening never waits (a pipe in place of a model would block until a writer came). */
const READ_WITHOUT_WAITING = fsConstants.O_NONBLOCK === undefined ? 'r' : fsConstants.O_RDONLY | fsConstants.O_NONBLOCK

/**
 * The persistent tier on the local disk, under `<data folder>/models`:
 * - `<sha256>.glb`: the models, content-addressed (identical models share one file);
 * - `records/<key>.json`: one record per model, written atomically before a write is
 *   acknowledged; the records are the truth, so a model that was answered survives a crash
 *   at any moment, and nothing depends on one index file;
 * - `index.json`: a snapshot of every record with its recency and hits, so a start reads one
 *   file (plus the records written since) instead of every model. It can be lost or damaged
 *   without losing a model: it is moved aside and rebuilt from the records;
 * - `FORMAT`: the layout version; a folder written by a newer MeshCache is only read.
 *
 * Nothing is hashed at start: every read is checked against the file's hash before it is
 * served, and `scrub()` checks the rest in the background. Failures (full disk, permissions)
 * never reach the caller: they are counted and described in the statistics.
 */
export class DiskTier implements PersistentTier {
  readonly name = 'disk'
  private readonly dir: string
  private readonly fs: StorageFs
  private readonly now: () => number
  private readonly snapshotDelayMs: number
  private readonly log: (message: string) => void
  private readonly files: ContentStore
  /** Our own bounded cache orders the index: its byte limit is the disk limit. */
  private readonly index: BoundedCache<DiskRecord>
  private usable = false
  private readOnly = false
  private warming = false
  /** The start found a damaged index or records: unreferenced files are kept, not deleted. */
  private damagedAtStart = false
  private scrubbing = false
  private badRecords = 0
  private lastError: string | undefined
  private snapshotTimer: ReturnType<typeof setTimeout> | undefined
  private snapshotDue = 0
  private saving: Promise<void> = Promise.resolve()
  /** Writes and removals of each record file, in the order the index changed. */
  private readonly recordOps = new KeyedChains()

  constructor(options: DiskTierOptions) {
    this.dir = options.dir
    this.fs = options.fs ?? nodeFs
    this.now = options.now ?? Date.now
    this.snapshotDelayMs = options.snapshotDelayMs ?? 1_000
    this.log = options.log ?? ((message) => console.warn(`MeshCache: ${message}`))
    this.files = new ContentStore(this.fs, this.dir)
    this.index = new BoundedCache<DiskRecord>({
      maxItems: 100_000_000,
      maxBytes: options.maxBytes ?? DEFAULT_DISK_MAX_BYTES,
      policy: options.policy,
      sizeOf: (record) => record.bytes,
      onEvict: (key, entry, reason) => {
        if (this.readOnly) return
        this.files.release(entry.value.file)
        if (reason !== 'replaced') this.removeRecordFile(key)
      },
    })
  }

  get enabled(): boolean {
    return this.usable
  }

  /**
   * Reads the index only: the layout version, the snapshot, and the records written since it
   * (the records folder is listed only when it changed after the snapshot). No model file is
   * read or even listed: `tidy()` does that in the background. A damaged snapshot is moved
   * aside and rebuilt from the records.
   */
  async open(): Promise<void> {
    const problems: string[] = []
    try {
      await this.fs.mkdir(join(this.dir, RECORDS), { recursive: true })
      const format = await this.readFormat()
      this.readOnly = format !== undefined && format > DISK_FORMAT
      if (this.readOnly)
        problems.push(
          `the models folder was written by a newer MeshCache (format ${format}); it is only read, never changed`,
        )
      const legacy = format === undefined
      const snapshot = await this.readSnapshot(problems)
      for (const record of await this.loadRecords(snapshot, legacy, problems)) {
        this.files.adopt(record.file)
        this.index.set(record.key, record, { generationMs: record.generationMs, pinned: record.kept })
      }
      if (legacy && !this.readOnly) await writeFileAtomically(this.fs, join(this.dir, FORMAT_FILE), String(DISK_FORMAT))
      this.usable = true
      this.index.resetStats()
      this.damagedAtStart = problems.length > 0
      if (problems.length > 0) this.report(`Disk tier: ${problems.join('; ')}.`)
      if (legacy || problems.length > 0) this.scheduleSnapshot()
    } catch (error) {
      this.usable = false
      this.lastError = explainStorageFailure(error)
      this.log(this.lastError)
    }
  }

  /**
   * The part of opening that lists the model files, run in the background after the first
   * answer: interrupted writes are swept away; records whose model file is missing are
   * dropped; files no record refers to are deleted after a clean start (leftovers of a crash
   * between writing a model and its record, or of a removal), or kept in lost+found after a
   * start that found damage (they may be models whose records were lost).
   */
  async tidy(): Promise<void> {
    if (!this.usable || this.readOnly) return
    try {
      const records = join(this.dir, RECORDS)
      await sweepTemporaries(this.fs, records, await this.fs.readdir(records))
      // One listing of the models folder serves both the sweep and the check below.
      const names = await this.fs.readdir(this.dir)
      await sweepTemporaries(this.fs, this.dir, names)
      const present = new Set(names.flatMap((n) => MODEL_FILE.exec(n)?.[1] ?? []))
      let missing = 0
      for (const record of this.recent()) {
        // A model written while the folder was being listed is not in the listing: ask again.
        if (present.has(record.file) || (await this.files.exists(record.file))) continue
        if (this.index.peek(record.key) !== record) continue
        missing++
        this.index.delete(record.key)
      }
      if (missing > 0) {
        this.index.counter.dropped += missing
        this.report(`Disk tier: ${missing} model(s) were missing from the folder and were dropped.`)
        this.scheduleSnapshot()
      }
      await this.handleUnreferenced(present, !this.damagedAtStart && missing === 0)
    } catch (error) {
      this.report(explainStorageFailure(error, 'Checking the models folder'))
    }
  }

  has(key: string): boolean {
    return this.usable && this.index.has(key)
  }

  record(key: string): DiskRecord | undefined {
    return this.usable ? this.index.peek(key) : undefined
  }

  /**
   * Reads a model back, hashing it as it is read; a file that does not match its record is
   * dropped, never returned. `use: false` (warming memory) neither counts nor changes recency.
   */
  async read(key: string, { use = true } = {}): Promise<StoredModel | undefined> {
    const record = this.usable ? this.index.peek(key) : undefined
    if (!record) {
      if (use) this.index.counter.recordMiss()
      return undefined
    }
    const bytes = await this.readVerified(record)
    if (!bytes) {
      if (use) this.index.counter.recordMiss()
      return undefined
    }
    if (use) {
      this.index.counter.recordHit(record.generationMs)
      this.touch(key)
    }
    return { bytes, record }
  }

  /**
   * Stores a model durably: when this resolves true, the model file and its record are on
   * disk (fsynced), so the model survives a crash. Never throws: a failure is counted,
   * described in the statistics, and answered false.
   */
  async write(key: string, bytes: Uint8Array, info: WriteInfo): Promise<boolean> {
    if (!this.usable || this.readOnly) return false
    if (bytes.byteLength > this.index.getLimits().maxBytes) return false
    // A model written again under a key the user keeps stays kept.
    const kept = info.kept === true || this.index.isPinned(key)
    const record = newRecord(key, bytes, { ...info, kept }, this.now())
    try {
      await this.files.retain(record.file, bytes)
    } catch (error) {
      return this.writeFailed(error)
    }
    // The index changes now, and the record file is queued behind any removal asked for
    // earlier: a delete or clear that comes later queues its removal behind this write.
    this.index.set(key, record, { generationMs: info.generationMs, pinned: kept })
    // A cost-aware policy may find the new model the least worth keeping: then it is not kept.
    if (this.index.peek(key) !== record) return false
    try {
      await this.recordOps.run(key, () => writeFileAtomically(this.fs, this.recordPath(key), JSON.stringify(record)))
    } catch (error) {
      if (this.index.peek(key) === record) this.index.delete(key)
      return this.writeFailed(error)
    }
    this.index.counter.writes++
    this.lastError = undefined
    this.scheduleSnapshot()
    return true
  }

  private writeFailed(error: unknown): false {
    this.index.counter.writeFailures++
    this.report(explainStorageFailure(error))
    return false
  }

  /** A use of the model (from any tier): recency and hit count for the disk's own eviction. */
  touch(key: string): void {
    const record = this.index.peek(key)
    if (!record || !this.index.touch(key)) return
    record.hits++
    record.lastAccessAt = this.now()
    this.scheduleSnapshot('recency')
  }

  isKept(key: string): boolean {
    return this.usable && this.index.isPinned(key)
  }

  /** Keeps a model or lets it go; its record file is rewritten before this resolves. */
  async setKept(key: string, kept: boolean): Promise<boolean> {
    const record = this.usable && !this.readOnly ? this.index.peek(key) : undefined
    if (!record) return false
    if (kept) record.kept = true
    else delete record.kept
    this.index.pin(key, kept)
    // Letting one go may have made room for it to leave at once (its limit was exceeded).
    if (this.index.peek(key) !== record) return true
    try {
      await this.recordOps.run(key, () => writeFileAtomically(this.fs, this.recordPath(key), JSON.stringify(record)))
    } catch (error) {
      return this.writeFailed(error)
    }
    this.scheduleSnapshot()
    return true
  }

  delete(key: string): boolean {
    if (this.readOnly) return false
    const removed = this.index.delete(key)
    if (removed) this.scheduleSnapshot()
    return removed
  }

  clear({ kept = false } = {}): number {
    if (this.readOnly) return 0
    const before = this.index.size
    this.index.clear({ keepPinned: !kept })
    this.scheduleSnapshot()
    return before - this.index.size
  }

  setMaxBytes(maxBytes: number): void {
    this.index.setLimits({ maxBytes })
    this.scheduleSnapshot()
  }

  setPolicy(policy: EvictionPolicyName): void {
    this.index.setPolicy(policy)
  }

  get maxBytes(): number {
    return this.index.getLimits().maxBytes
  }

  /** Records from most to least recently used. */
  recent(): DiskRecord[] {
    return this.index.keys().flatMap((key) => this.index.peek(key) ?? [])
  }

  /** Copies of the records, most recent first. */
  entries(): DiskRecord[] {
    return this.recent().map((r) => ({ ...r }))
  }

  setWarming(warming: boolean): void {
    this.warming = warming
  }

  stats(): DiskStats {
    return {
      ...this.index.counter.snapshot(),
      enabled: this.usable,
      readOnly: this.readOnly,
      badRecords: this.badRecords,
      warming: this.warming,
      scrubbing: this.scrubbing,
      currentItems: this.index.size,
      currentBytes: this.index.currentBytes,
      keptItems: this.index.pinnedTotals().items,
      keptBytes: this.index.pinnedTotals().bytes,
      maxBytes: this.index.getLimits().maxBytes,
      lastError: this.lastError ?? null,
    }
  }

  /**
   * Checks every model file against its hash, one file at a time, waiting `pause()` between
   * files so hits go first. A file that went bad is dropped. Returns how many were dropped.
   */
  async scrub(options: { signal?: AbortSignal; pause?: () => Promise<void> } = {}): Promise<number> {
    let dropped = 0
    this.scrubbing = true
    try {
      for (const record of this.recent().reverse()) {
        if (options.signal?.aborted || !this.usable) break
        await options.pause?.()
        if (this.index.peek(record.key) !== record) continue
        if (!(await this.readVerified(record, { background: true }))) dropped++
      }
    } finally {
      this.scrubbing = false
    }
    return dropped
  }

  /** Waits for writes and removals under way and rewrites the snapshot (on quit, and in tests). */
  async flush(): Promise<void> {
    clearTimeout(this.snapshotTimer)
    this.snapshotTimer = undefined
    await this.recordOps.settled()
    await this.files.settled()
    await this.saveSnapshot()
  }

  private recordPath(key: string): string {
    return join(this.dir, RECORDS, `${key}.json`)
  }

  /**
   * Reads a model file into one buffer and checks its hash; undefined (and dropped) when it
   * is bad. A hit hashes each piece on this thread as it arrives (the fastest answer); the
   * background scrub has the hash computed off this thread, so it never holds up a hit.
   */
  private async readVerified(record: DiskRecord, { background = false } = {}): Promise<Uint8Array | undefined> {
    let handle: nodeFs.FileHandle | undefined
    try {
      handle = await this.fs.open(this.files.path(record.file), READ_WITHOUT_WAITING)
      // Only a regular file is a model: a pipe or a device in its place would never end.
      if (!(await handle.stat()).isFile()) throw new Error('not a regular file')
      // One buffer, read once in pieces: the next piece is read (off the main thread) while
      // this one is hashed. Sequential reads (no position): one pass, whatever kind of file.
      const bytes = Buffer.allocUnsafe(record.bytes)
      const hash = background ? undefined : createHash('sha256')
      const file = handle
      const readAt = (at: number) => file.read(bytes, at, Math.min(READ_CHUNK, record.bytes - at), null)
      let offset = 0
      let next = record.bytes > 0 ? readAt(0) : undefined
      while (next) {
        const { bytesRead } = await next
        if (bytesRead === 0) break
        const start = offset
        offset += bytesRead
        next = offset < record.bytes ? readAt(offset) : undefined
        hash?.update(bytes.subarray(start, offset))
      }
      const { bytesRead: extra } = await handle.read(Buffer.alloc(1), 0, 1, null)
      const digest = hash
        ? hash.digest('hex')
        : Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex')
      if (offset !== record.bytes || extra !== 0 || digest !== record.file) throw new Error('checksum mismatch')
      return bytes
    } catch {
      this.index.counter.readFailures++
      this.index.counter.dropped++
      this.report(`A model file on disk was missing or damaged and was dropped (${record.key.slice(0, 12)}).`)
      // Only this key's entry goes; the file itself goes once no other entry refers to it.
      if (this.index.peek(record.key) === record) this.index.delete(record.key)
      this.scheduleSnapshot()
      return undefined
    } finally {
      await handle?.close().catch(() => undefined)
    }
  }

  private async readFormat(): Promise<number | undefined> {
    try {
      const text = (await this.fs.readFile(join(this.dir, FORMAT_FILE), 'utf8')).trim()
      return /^\d+$/.test(text) ? Number(text) : DISK_FORMAT + 1
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  /** The snapshot's entries (least recent first), or what could be salvaged from a damaged one. */
  private async readSnapshot(problems: string[]): Promise<{ entries: unknown[]; recordsMtimeMs?: number }> {
    const path = join(this.dir, SNAPSHOT)
    let text: string
    try {
      text = await this.fs.readFile(path, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return { entries: [] }
      if (code !== 'EISDIR') throw error
      problems.push(`${await this.moveAside(SNAPSHOT)} (it was a folder)`)
      return { entries: [] }
    }
    const reading = readSnapshotText(text)
    if (reading.state === 'missing') return { entries: [] }
    if (reading.state === 'ok') {
      if (reading.version > DISK_FORMAT && !this.readOnly) {
        this.readOnly = true
        problems.push(
          `the index was written by a newer MeshCache (version ${reading.version}); the models are only read, never changed`,
        )
      }
      return reading
    }
    const aside = this.readOnly ? 'it was left as it is' : await this.moveAside(SNAPSHOT)
    problems.push(
      `the index could not be read (${reading.reason}); ${aside}; ${reading.salvaged.length} record(s) were recovered from it`,
    )
    return { entries: reading.salvaged }
  }

  /** Renames a damaged file or folder out of the way, keeping it for inspection. */
  private async moveAside(name: string): Promise<string> {
    const aside = `${name}.damaged-${new Date(this.now()).toISOString().replace(/[:.]/g, '-')}`
    await this.fs.rename(join(this.dir, name), join(this.dir, aside))
    return `it was moved aside as ${aside}`
  }

  /**
   * The records, least recently used first. In this layout the record files are the truth
   * and the snapshot gives their order; an older layout (index only) is migrated by writing a
   * record file for each entry it had.
   */
  private async loadRecords(
    snapshot: { entries: unknown[]; recordsMtimeMs?: number },
    legacy: boolean,
    problems: string[],
  ): Promise<DiskRecord[]> {
    const parsed = snapshot.entries.map(parseRecord)
    const unreadable = parsed.filter((record) => !record).length
    // When the records folder has not changed since the snapshot, the snapshot is complete,
    // unless some of its entries cannot be read: then the record files stand in for them.
    const folder = join(this.dir, RECORDS)
    const unchanged =
      !legacy &&
      unreadable === 0 &&
      snapshot.recordsMtimeMs !== undefined &&
      (await this.fs.stat(folder)).mtimeMs === snapshot.recordsMtimeMs
    const onDisk = unchanged
      ? undefined
      : new Set((await this.fs.readdir(folder)).flatMap((n) => RECORD_FILE.exec(n)?.[1] ?? []))
    if (unreadable > 0 && !legacy)
      problems.push(`${unreadable} index entr(ies) could not be read; their record files were read instead`)
    const byKey = new Map<string, DiskRecord>()
    // In the first layout the index is all there is: an entry it cannot read is lost.
    let bad = legacy ? unreadable : 0
    for (const record of parsed) {
      if (!record) continue
      // In this layout a snapshot entry without a record file was deleted after the snapshot.
      if (!onDisk || legacy || onDisk.has(record.key) || this.readOnly) byKey.set(record.key, record)
    }
    const inSnapshot = byKey.size
    for (const key of onDisk ?? []) {
      if (byKey.has(key)) continue
      const record = await this.readRecordFile(key)
      if (record) byKey.set(key, record)
      else bad++
    }
    if (bad > 0) {
      this.badRecords += bad
      problems.push(`${bad} index record(s) could not be read and were skipped (their model files are kept)`)
    }
    const records = [...byKey.values()]
    if (legacy && !this.readOnly) {
      for (const record of records) {
        if (!onDisk?.has(record.key))
          await writeFileAtomically(this.fs, this.recordPath(record.key), JSON.stringify(record))
      }
    }
    // The snapshot's order is the recency order (least recent first); records found only in
    // the folder are newer than the snapshot, and go after it by their last use.
    const newer = records.slice(inSnapshot).sort((a, b) => a.lastAccessAt - b.lastAccessAt)
    return records.slice(0, inSnapshot).concat(newer)
  }

  private async readRecordFile(key: string): Promise<DiskRecord | undefined> {
    try {
      const record = parseRecord(JSON.parse(await this.fs.readFile(this.recordPath(key), 'utf8')))
      return record?.key === key ? record : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Model files no record refers to. After a clean start they are leftovers of a crash
   * between writing a model and its record (never acknowledged) or of a removal, and are
   * deleted. After a start that found damage they may be models whose records were lost, so
   * they are moved to lost+found instead, never deleted.
   */
  private async handleUnreferenced(present: Set<string>, clean: boolean): Promise<void> {
    const unreferenced = [...present].filter((file) => this.files.references(file) === 0)
    if (unreferenced.length === 0) return
    const lostAndFound = join(this.dir, LOST_AND_FOUND)
    if (!clean) await this.fs.mkdir(lostAndFound, { recursive: true })
    let kept = 0
    for (const file of unreferenced) {
      // A write may have taken the file since the listing: then it stays where it is.
      const moved = await this.files.removeUnreferenced(file, clean ? undefined : join(lostAndFound, `${file}.glb`))
      if (moved && !clean) kept++
    }
    if (kept > 0) this.log(`${kept} model file(s) without a record were kept in ${lostAndFound}.`)
  }

  private report(message: string): void {
    this.lastError = message
    this.log(message)
  }

  private removeRecordFile(key: string): void {
    void this.recordOps.run(key, () => this.fs.rm(this.recordPath(key), { force: true })).catch(() => undefined)
  }

  /**
   * Gathers index changes into one snapshot write. A change of contents is saved soon; a
   * mere use (recency, hit count) can wait longer, so a burst of hits does not rewrite it.
   */
  private scheduleSnapshot(kind: 'contents' | 'recency' = 'contents'): void {
    if (!this.usable || this.readOnly) return
    const delay = kind === 'contents' ? this.snapshotDelayMs : this.snapshotDelayMs * RECENCY_FACTOR
    const due = Date.now() + delay
    if (this.snapshotTimer && this.snapshotDue <= due) return
    clearTimeout(this.snapshotTimer)
    this.snapshotDue = due
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = undefined
      void this.saveSnapshot()
    }, delay)
    this.snapshotTimer.unref?.()
  }

  private saveSnapshot(): Promise<void> {
    // One save at a time, in order.
    this.saving = this.saving.then(async () => {
      if (!this.usable || this.readOnly) return
      try {
        // The folder's time first: a record written after it changes it, so the next start lists the folder.
        const recordsMtimeMs = (await this.fs.stat(join(this.dir, RECORDS))).mtimeMs
        const snapshot: IndexSnapshot = { version: DISK_FORMAT, recordsMtimeMs, entries: this.recent().reverse() }
        await writeFileAtomically(this.fs, join(this.dir, SNAPSHOT), JSON.stringify(snapshot))
      } catch (error) {
        this.index.counter.writeFailures++
        this.report(explainStorageFailure(error, 'Saving the disk index'))
      }
    })
    return this.saving
  }
}
