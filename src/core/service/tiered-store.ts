import { setTimeout as sleep } from 'node:timers/promises'
import type {
  CacheEntryInfo,
  CacheLimits,
  CacheOutcome,
  CacheStats,
  DiskStats,
  EntryMeta,
  EvictionPolicyName,
  SharedStats,
  Tier,
} from '../../shared/cache-types'
import type { ClearResult, ClearScope, EntriesPage, EntryInfo, SortField } from '../../shared/contract'
import { BoundedCache } from '../cache'
import type { DiskRecord } from '../storage/disk-records'
import type { DiskTier } from '../storage/disk-tier'
import type { PersistentTier } from '../storage/persistent-tier'
import type { ThumbnailStore } from '../storage/thumbnail-store'
import { type ChangeReason, REMOVAL_CHANGE } from './change-feed'
import { type EntryFilter, entryFilter } from './entry-filter'
import { HeldResults } from './held-results'

/** Titles in a person's order: case and accents aside, "file 2" before "file 10". */
const TITLE_ORDER = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true })

/** The scrub rests this many times as long as it worked: it uses at most a tenth of the time. */
const SCRUB_REST_FACTOR = 9

/** What a generation hands the store: the model and what to remember about it. */
export interface Generated {
  glb: Uint8Array
  generationMs: number
  meta: EntryMeta
  /** The input's thumbnail, stored once the model is (see getOrLoad). */
  thumbnail?: Uint8Array
}

export interface Loaded {
  bytes: Uint8Array
  outcome: CacheOutcome
  /** The tier the model came from; 'generator' when it was generated (or joined). */
  tier: Tier | 'generator'
  generationMs: number
  /** Whether any tier stores it (false: too large for every limit, or every write failed). */
  stored: boolean
}

export interface TieredStoreOptions {
  limits?: Partial<CacheLimits>
  policy?: EvictionPolicyName
  disk?: DiskTier
  /** The team's shared tier, below the disk. */
  shared?: PersistentTier
  thumbnails: ThumbnailStore
  /** Pause between two files of the background integrity scrub. */
  scrubPauseMs?: number
  /**
   * What is wrong with a stored model, in words (the app checks each GLB's parts): a model a
   * persistent tier holds that fails it is removed from that tier and never served.
   */
  problemOf?: (bytes: Uint8Array) => string | undefined
  /** Told when a stored model was removed for failing `problemOf`. */
  onBadModel?: (key: string, tier: string, problem: string) => void
}

/** An entry as the tiers know it; the coordinator adds where its thumbnail is. */
export type StoredEntry = Omit<EntryInfo, 'thumbnailUrl'>
export type StoredEntriesPage = Omit<EntriesPage, 'items'> & { items: StoredEntry[] }

export interface EntriesQuery extends EntryFilter {
  offset: number
  limit: number
  sort: SortField
  order: 'asc' | 'desc'
}

/**
 * The tiers, fastest first: memory (the bounded cache, with single flight), then the disk,
 * then the team's shared tier. A lookup goes down the tiers before anything is generated;
 * a generated model is written through to every persistent tier before the answer, so an
 * answered model survives a crash. Owns warm-up, the merged entries list, clear, delete and
 * the limits of every tier.
 */
export class TieredStore {
  readonly memory: BoundedCache<Uint8Array>
  readonly disk: DiskTier | undefined
  readonly shared: PersistentTier | undefined
  private readonly persistent: PersistentTier[]
  private readonly held = new HeldResults()
  /** Reads being served; the scrub waits while any is under way. */
  private busy = 0
  /** When the scrub went back to work after its last rest. */
  private scrubResumedAt: number | undefined
  private background: AbortController | undefined
  private backgroundWork: Promise<void> = Promise.resolve()
  /** Told of every change of contents or limits (the service turns these into events). */
  onChange: (reason: ChangeReason) => void = () => undefined

  constructor(private readonly options: TieredStoreOptions) {
    this.memory = new BoundedCache<Uint8Array>({
      ...options.limits,
      policy: options.policy,
      onEvict: (_key, _entry, reason) => this.onChange(REMOVAL_CHANGE[reason]),
    })
    this.disk = options.disk
    this.shared = options.shared
    this.persistent = [options.disk, options.shared].filter((t): t is PersistentTier => t !== undefined)
  }

  /**
   * Opens the disk tier (its index only) and returns; warming memory with the most recently
   * used models and the integrity scrub then run in the background.
   */
  async open(): Promise<void> {
    await this.options.thumbnails.open()
    if (!this.disk) return
    await this.disk.open()
    const background = new AbortController()
    this.background = background
    this.backgroundWork = this.warmUp(background.signal)
      .then(() => this.disk?.tidy())
      .then(() => this.disk?.scrub({ signal: background.signal, pause: () => this.quietMoment() }))
      .then(() => undefined)
      .catch(() => undefined)
  }

  /** Resolves when the background warm-up and scrub are done (tests, benchmarks). */
  backgroundDone(): Promise<void> {
    return this.backgroundWork
  }

  /**
   * Serves a key from the fastest tier that has it, or runs `generate` once for every caller
   * asking meanwhile, and keeps the result in every tier.
   */
  async getOrLoad(
    key: string,
    generate: (signal: AbortSignal) => Promise<Generated>,
    signal: AbortSignal,
  ): Promise<Loaded> {
    this.busy++
    // Stored after the model, not before: a clear that lands while the model is being kept
    // would take a thumbnail stored first and leave the model listed without it.
    let thumbnail: Uint8Array | undefined
    try {
      const loaded = await this.memory.getOrCompute(
        key,
        async (flightSignal, control) => {
          for (const tier of this.persistent) {
            const stored = await this.readSound(tier, key)
            if (!stored) continue
            control.reportGenerationMs(stored.record.generationMs)
            control.reportMeta(stored.record.meta)
            control.reportOrigin(tier.name)
            await this.copyUp(tier, key, stored.bytes, stored.record)
            return stored.bytes
          }
          const generated = await generate(flightSignal)
          thumbnail = generated.thumbnail
          control.reportGenerationMs(generated.generationMs)
          control.reportMeta(generated.meta)
          await Promise.all(this.persistent.map((tier) => tier.write(key, generated.glb, generated)))
          return generated.glb
        },
        { signal },
      )
      if (loaded.outcome === 'hit') for (const tier of this.persistent) tier.touch(key)
      if (thumbnail) await this.options.thumbnails.put(key, thumbnail)
      this.onChange(loaded.outcome === 'hit' ? 'accessed' : 'stored')
      const stored = this.stores(key)
      if (!stored) this.held.hold(key, loaded.value)
      const tier = loaded.outcome === 'hit' ? 'memory' : ((loaded.origin as Tier | undefined) ?? 'generator')
      return { bytes: loaded.value, outcome: loaded.outcome, tier, generationMs: loaded.generationMs, stored }
    } finally {
      this.busy--
    }
  }

  /** A stored model's bytes, from the fastest tier that has it (kept in memory from then on). */
  async model(key: string): Promise<Uint8Array | undefined> {
    const fast = this.memory.peek(key) ?? this.held.get(key)
    if (fast) return fast
    this.busy++
    try {
      for (const tier of this.persistent) {
        const stored = await this.readSound(tier, key)
        if (!stored) continue
        await this.copyUp(tier, key, stored.bytes, stored.record)
        this.memory.set(key, stored.bytes, { meta: stored.record.meta, generationMs: stored.record.generationMs })
        this.onChange('stored')
        return stored.bytes
      }
      return undefined
    } finally {
      this.busy--
    }
  }

  thumbnail(key: string): Promise<Uint8Array | undefined> {
    return this.options.thumbnails.get(key)
  }

  /** A persistent tier's model, unless it fails the app's check: then it is removed there and said. */
  private async readSound(tier: PersistentTier, key: string) {
    const stored = await tier.read(key)
    const problem = stored && this.options.problemOf?.(stored.bytes)
    if (!problem) return stored
    await tier.delete(key)
    this.options.onBadModel?.(key, tier.name, problem)
    return undefined
  }

  /** Whether any tier holds the key (without reading it). */
  has(key: string): boolean {
    return this.stores(key) || this.held.get(key) !== undefined
  }

  /** What the fastest tier holding the key knows of it. */
  info(key: string): CacheEntryInfo | undefined {
    const inMemory = this.memory.info(key)
    if (inMemory) return inMemory
    for (const tier of this.persistent) {
      const record = tier.record(key)
      if (record) return record
    }
    return undefined
  }

  /** Whether the user keeps the model (in any tier). */
  isKept(key: string): boolean {
    return this.memory.isPinned(key) || this.persistent.some((tier) => tier.isKept(key))
  }

  /**
   * Keeps a model, or lets it go back under the tiers' policies: every persistent tier that
   * holds it keeps it; memory pins it only when it is its last tier (no persistent tier
   * holds it), since a kept model may leave memory but never its last tier. False when no
   * tier holds it.
   */
  async keep(key: string, kept: boolean): Promise<boolean> {
    const inPersistent = await Promise.all(this.persistent.map((tier) => tier.setKept(key, kept)))
    const heldBelow = inPersistent.some(Boolean)
    const inMemory = this.memory.pin(key, kept && !heldBelow)
    const held = heldBelow || inMemory
    if (held) this.onChange('kept')
    return held
  }

  /** A use served without going through `getOrLoad` (a similar model reused): recency and hits. */
  touch(key: string): void {
    this.memory.touch(key)
    for (const tier of this.persistent) tier.touch(key)
  }

  config(): { maxItems: number; maxBytes: number; diskMaxBytes: number | null; policy: EvictionPolicyName } {
    return {
      ...this.memory.getLimits(),
      diskMaxBytes: this.disk?.enabled ? this.disk.maxBytes : null,
      policy: this.memory.policyName,
    }
  }

  stats(): CacheStats & { disk: DiskStats | null; shared: SharedStats | null } {
    return {
      ...this.memory.stats(),
      disk: this.disk ? this.disk.stats() : null,
      shared: this.shared ? (this.shared.stats() as SharedStats) : null,
    }
  }

  /**
   * Entries of every tier, each listed once with the fastest tier that holds it; those the
   * query's filter lets through, sorted and paged, with the models every entry names.
   */
  async entries(query: EntriesQuery): Promise<StoredEntriesPage> {
    const seen = new Set<string>()
    const models = new Set<string>()
    const passes = entryFilter(query)
    const all: StoredEntry[] = []
    const add = (tier: Tier, list: CacheEntryInfo[]): void => {
      for (const entry of list) {
        if (seen.has(entry.key)) continue
        seen.add(entry.key)
        if (typeof entry.meta.model === 'string') models.add(entry.meta.model)
        const listed = { ...entry, tier, kept: this.isKept(entry.key) }
        if (passes(listed)) all.push(listed)
      }
    }
    add('memory', this.memory.entries())
    for (const tier of this.persistent) add(tier.name, (await tier.entries()).map(withoutFile))
    const sign = query.order === 'asc' ? 1 : -1
    const { sort } = query
    // Each tier's list is most recent first; the stable sort keeps that order among equals.
    if (sort === 'prompt') {
      // By the title a user reads (the prompt, else the picture's name), as a person orders words.
      const title = (entry: StoredEntry): string => String(entry.meta.prompt || entry.meta.pictureName || '')
      all.sort((a, b) => sign * TITLE_ORDER.compare(title(a), title(b)))
    } else all.sort((a, b) => sign * (a[sort] - b[sort]))
    return {
      total: all.length,
      offset: query.offset,
      items: all.slice(query.offset, query.offset + query.limit),
      models: [...models].sort(),
    }
  }

  /** Calls `visit` for every entry of every tier (for indexes kept beside the tiers), without copies or sorting. */
  async eachEntry(visit: (key: string, meta: EntryMeta) => void): Promise<void> {
    for (const entry of this.memory.entries()) visit(entry.key, entry.meta)
    for (const tier of this.persistent) {
      for (const record of await tier.entries()) visit(record.key, record.meta)
    }
  }

  /** Removes a model from this machine's tiers, and with `team` from the shared tier too. */
  async delete(key: string, team: boolean): Promise<boolean> {
    const fromMemory = this.memory.delete(key)
    const fromDisk = this.disk?.delete(key) ?? false
    const fromShared = team && this.shared ? await this.shared.delete(key) : false
    this.held.delete(key)
    const removed = fromMemory || fromDisk || fromShared
    if (removed) {
      this.options.thumbnails.delete(key)
      this.onChange('deleted')
    }
    return removed
  }

  /** Empties the tiers of the scope; models the user keeps stay unless `kept` says them too. */
  async clear(scope: ClearScope, kept = false): Promise<ClearResult> {
    const spared = kept ? new Set<string>() : await this.keptKeys()
    const before = this.memory.size
    this.memory.clear({ keepPinned: !kept })
    const removed = before - this.memory.size
    this.held.clear()
    if (scope === 'memory') this.options.thumbnails.clearMemory()
    else this.options.thumbnails.clear(spared)
    const removedFromDisk = scope !== 'memory' && this.disk ? this.disk.clear({ kept }) : 0
    const removedFromShared = scope === 'team' && this.shared ? await this.shared.clear({ kept }) : 0
    this.onChange('cleared')
    return { removed, removedFromDisk, removedFromShared, keptLeft: spared.size }
  }

  /** Every kept model's key, in any tier. */
  private async keptKeys(): Promise<Set<string>> {
    const keys = new Set<string>()
    await this.eachEntry((key) => {
      if (this.isKept(key)) keys.add(key)
    })
    return keys
  }

  setLimits(limits: Partial<CacheLimits>, diskMaxBytes?: number): void {
    if (limits.maxItems !== undefined || limits.maxBytes !== undefined) this.memory.setLimits(limits)
    if (diskMaxBytes !== undefined) this.disk?.setMaxBytes(diskMaxBytes)
    this.onChange('limits')
  }

  setPolicy(policy: EvictionPolicyName): void {
    this.memory.setPolicy(policy)
    for (const tier of this.persistent) tier.setPolicy(policy)
    this.onChange('limits')
  }

  /**
   * Waits for writes under way and saves every index. Background warm-up and scrub stop at
   * their next step and are not waited for: they only read (a read can hang on a bad disk).
   */
  async flush(): Promise<void> {
    this.background?.abort()
    await Promise.all(this.persistent.map((tier) => tier.flush()))
  }

  /** Lets go of what the tiers hold open (the shared tier's connection); after a flush, once done with them. */
  close(): void {
    for (const tier of this.persistent) tier.close?.()
  }

  /** Whether any tier stores the key now. */
  private stores(key: string): boolean {
    return this.memory.has(key) || this.persistent.some((tier) => tier.has(key))
  }

  /** A model found in a slower tier is written to the faster persistent tiers above it (kept if kept there). */
  private async copyUp(source: PersistentTier, key: string, bytes: Uint8Array, record: DiskRecord): Promise<void> {
    const above = this.persistent.slice(0, this.persistent.indexOf(source))
    await Promise.all(above.map((tier) => tier.write(key, bytes, record)))
  }

  /**
   * Reads the most recently used models from disk into memory, most recent first, each as
   * the least recently used entry, and only while they fit: what users load meanwhile is
   * never pushed out. Until a model is warm it is served from disk.
   */
  private async warmUp(signal: AbortSignal): Promise<void> {
    const disk = this.disk
    if (!disk) return
    disk.setWarming(true)
    try {
      for (const record of disk.recent()) {
        if (signal.aborted) return
        const { maxItems, maxBytes } = this.memory.getLimits()
        if (this.memory.size >= maxItems || this.memory.currentBytes + record.bytes > maxBytes) return
        if (this.memory.has(record.key)) continue
        const stored = await disk.read(record.key, { use: false })
        if (!stored || this.memory.has(record.key)) continue
        this.memory.set(record.key, stored.bytes, {
          meta: record.meta,
          generationMs: record.generationMs,
          coldest: true,
          history: record,
        })
        this.onChange('stored')
      }
    } finally {
      disk.setWarming(false)
    }
  }

  /** Resolves at a moment when no read is being served, after a short pause. */
  private async quietMoment(): Promise<void> {
    // The scrub takes at most a tenth of the time: after a file that took t ms to check, it
    // rests at least 9t ms (and never less than the pause), so hits keep the machine.
    const worked = this.scrubResumedAt === undefined ? 0 : performance.now() - this.scrubResumedAt
    const pauseMs = Math.max(this.options.scrubPauseMs ?? 50, worked * SCRUB_REST_FACTOR)
    do await sleep(pauseMs, undefined, { ref: false })
    while (this.busy > 0)
    this.scrubResumedAt = performance.now()
  }
}

function withoutFile({ file: _file, ...entry }: DiskRecord): Omit<DiskRecord, 'file'> {
  return entry
}
