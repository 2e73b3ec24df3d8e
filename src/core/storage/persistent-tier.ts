import type { EntryMeta, EvictionPolicyName, PersistentTierStats } from '../../shared/cache-types'
import type { DiskRecord } from './disk-records'

export interface WriteInfo {
  generationMs: number
  meta: EntryMeta
  kept?: boolean
}

export interface StoredModel {
  bytes: Uint8Array
  record: DiskRecord
}

/**
 * A tier below memory that keeps models across restarts: the local disk, or the team's
 * shared tier. Reads are always checked against the model's hash; nothing here throws for
 * an I/O failure: it is counted, described in `stats().lastError`, and answered as a miss
 * or a write that did not happen.
 */
export interface PersistentTier {
  readonly name: 'disk' | 'shared'
  readonly enabled: boolean
  /** Whether the tier holds the key (as far as it knows without reading). */
  has(key: string): boolean
  /** What the tier knows of the key, without reading the model. */
  record(key: string): DiskRecord | undefined
  /** The model, hash-checked; `use: false` neither counts nor changes recency. */
  read(key: string, options?: { use?: boolean }): Promise<StoredModel | undefined>
  /** Stores a model; true once it is durably stored. `kept` (or a record already kept) keeps it. */
  write(key: string, bytes: Uint8Array, info: WriteInfo): Promise<boolean>
  /** Whether the user keeps the model here (it is then never chosen for eviction). */
  isKept(key: string): boolean
  /** Keeps the model, or lets it go back under the tier's policy; false when the tier lacks it. */
  setKept(key: string, kept: boolean): Promise<boolean>
  /** A use served by a faster tier: recency and hit count only. */
  touch(key: string): void
  delete(key: string): boolean | Promise<boolean>
  /** Removes every model, kept ones too only with `kept`; answers how many were removed. */
  clear(options?: { kept?: boolean }): number | Promise<number>
  entries(): DiskRecord[] | Promise<DiskRecord[]>
  setMaxBytes(maxBytes: number): void
  setPolicy(policy: EvictionPolicyName): void
  stats(): PersistentTierStats
  flush(): Promise<void>
  /** Lets go of what the tier holds open (a connection), after a flush; the tier is not used again. */
  close?(): void
}
