import type { Redis } from 'ioredis'
import type { EvictionPolicyName, SharedStats } from '../../shared/cache-types'
import { StatsCounter } from '../cache'
import { sha256 } from '../sha256'
import { type DiskRecord, newRecord, parseRecord } from '../storage/disk-records'
import type { PersistentTier, StoredModel, WriteInfo } from '../storage/persistent-tier'

/**
 * Keys, under the team's prefix P:
 * - P:rec:<key>   hash: the record (json), bytes, cost (generation ms), file (sha256), hits,
 *                 kept (1 when a user keeps it);
 * - P:blob:<sha>  the GLB, content-addressed; P:refs:<sha> how many records point to it;
 * - P:order       sorted set of keys by eviction priority (LRU: last use; GDSF: H): the only
 *                 place victims are taken from;
 * - P:kept        sorted set of the kept keys by last use: never in P:order, so never evicted;
 * - P:total       bytes held (kept ones too); P:keptTotal bytes kept; P:inflation GDSF's L;
 *   P:policy the team's policy.
 * Every change runs as one Lua script, so eviction is atomic across the team. Redis's own
 * eviction is never relied on: BullMQ needs `noeviction`.
 */
const LUA_LIB = `
local P = ARGV[1]
local function priority(key, now, hitsDelta)
  local policy = redis.call('GET', P..':policy') or 'lru'
  if policy ~= 'gdsf' then return now end
  local fields = redis.call('HMGET', P..':rec:'..key, 'bytes', 'cost', 'hits')
  local bytes = math.max(1, tonumber(fields[1]) or 1)
  local cost = math.max(1, tonumber(fields[2]) or 1)
  local hits = (tonumber(fields[3]) or 0) + hitsDelta
  local inflation = tonumber(redis.call('GET', P..':inflation') or '0')
  return inflation + (hits + 1) * cost / bytes
end
local function remove(key)
  local file = redis.call('HGET', P..':rec:'..key, 'file')
  if not file then return 0 end
  local bytes = tonumber(redis.call('HGET', P..':rec:'..key, 'bytes')) or 0
  if redis.call('HGET', P..':rec:'..key, 'kept') then redis.call('DECRBY', P..':keptTotal', bytes) end
  redis.call('DEL', P..':rec:'..key)
  redis.call('ZREM', P..':order', key)
  redis.call('ZREM', P..':kept', key)
  redis.call('DECRBY', P..':total', bytes)
  if redis.call('DECR', P..':refs:'..file) <= 0 then
    redis.call('DEL', P..':refs:'..file, P..':blob:'..file)
  end
  return bytes
end
local function evictOver(budget)
  local evictions, evicted = 0, 0
  while tonumber(redis.call('GET', P..':total') or '0') > budget do
    local victim = redis.call('ZRANGE', P..':order', 0, 0, 'WITHSCORES')
    if #victim == 0 then break end
    if (redis.call('GET', P..':policy') or 'lru') == 'gdsf' then redis.call('SET', P..':inflation', victim[2]) end
    evicted = evicted + remove(victim[1])
    evictions = evictions + 1
  end
  return evictions, evicted
end
`

/**
 * ARGV: P, key, file, bytes, cost, json, now, budget, blob, kept → { stored, evictions, evictedBytes, kept }.
 * A key kept by anyone in the team stays kept when it is written again.
 */
const WRITE = `${LUA_LIB}
local key, file, bytes, cost, json, now, budget = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local kept = ARGV[10] == '1' or redis.call('HGET', P..':rec:'..key, 'kept') ~= false
remove(key)
if bytes > budget then return {0, 0, 0} end
redis.call('HSET', P..':rec:'..key, 'json', json, 'bytes', bytes, 'cost', cost, 'file', file, 'hits', 0)
if redis.call('INCR', P..':refs:'..file) == 1 then redis.call('SET', P..':blob:'..file, ARGV[9]) end
redis.call('INCRBY', P..':total', bytes)
if kept then
  redis.call('HSET', P..':rec:'..key, 'kept', 1)
  redis.call('INCRBY', P..':keptTotal', bytes)
  redis.call('ZADD', P..':kept', now, key)
else
  redis.call('ZADD', P..':order', priority(key, now, 0), key)
end
local evictions, evicted = evictOver(budget)
return {redis.call('EXISTS', P..':rec:'..key), evictions, evicted, kept and 1 or 0}
`

/** ARGV: P, key, keep (1 or 0), now, budget → 1 when the key is held. */
const KEEP = `${LUA_LIB}
local key, keep, now, budget = ARGV[2], ARGV[3] == '1', tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('EXISTS', P..':rec:'..key) == 0 then return 0 end
local was = redis.call('HGET', P..':rec:'..key, 'kept') ~= false
if keep == was then return 1 end
local bytes = tonumber(redis.call('HGET', P..':rec:'..key, 'bytes')) or 0
if keep then
  redis.call('ZREM', P..':order', key)
  redis.call('ZADD', P..':kept', now, key)
  redis.call('HSET', P..':rec:'..key, 'kept', 1)
  redis.call('INCRBY', P..':keptTotal', bytes)
else
  redis.call('ZREM', P..':kept', key)
  redis.call('HDEL', P..':rec:'..key, 'kept')
  redis.call('DECRBY', P..':keptTotal', bytes)
  redis.call('ZADD', P..':order', priority(key, now, 0), key)
  evictOver(budget)
end
return 1
`

/** ARGV: P, key, now → 1 when the key is held (its use is recorded). */
const TOUCH = `${LUA_LIB}
local key, now = ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', P..':rec:'..key) == 0 then return 0 end
if redis.call('HGET', P..':rec:'..key, 'kept') then
  redis.call('ZADD', P..':kept', now, key)
else
  redis.call('ZADD', P..':order', priority(key, now, 1), key)
end
redis.call('HINCRBY', P..':rec:'..key, 'hits', 1)
return 1
`

/** ARGV: P, key → bytes removed. */
const REMOVE = `${LUA_LIB}
return remove(ARGV[2])
`

/** ARGV: P, all (1: kept ones too) → entries removed. */
const CLEAR = `${LUA_LIB}
local keys = redis.call('ZRANGE', P..':order', 0, -1)
if ARGV[2] == '1' then
  for _, key in ipairs(redis.call('ZRANGE', P..':kept', 0, -1)) do table.insert(keys, key) end
end
for _, key in ipairs(keys) do remove(key) end
redis.call('DEL', P..':inflation')
if redis.call('ZCARD', P..':kept') == 0 then redis.call('DEL', P..':total', P..':keptTotal') end
return #keys
`

/** Most entries one listing of the team's tier reads (one pipelined read of each record). */
const SHARED_LISTING_LIMIT = 100_000

export interface SharedTierOptions {
  redis: Redis
  prefix: string
  maxBytes: number
  now?: () => number
  log?: (message: string) => void
}

/**
 * The team's shared tier on Redis: every model any instance made, verified by hash on every
 * read (a corrupt blob is dropped, never a hit), with its own LRU or GDSF eviction within a
 * byte budget. When Redis cannot be reached, reads are misses and writes are skipped: the
 * instance keeps working on its own tiers, and `lastError` says so.
 */
export class SharedTier implements PersistentTier {
  readonly name = 'shared'
  private readonly redis: Redis
  private readonly prefix: string
  private budget: number
  private readonly now: () => number
  private readonly log: (message: string) => void
  private readonly counter = new StatsCounter()
  /** What this instance knows of the keys held (refreshed on every read and listing). */
  private readonly known = new Map<string, DiskRecord>()
  private occupancy = { items: 0, bytes: 0, keptItems: 0, keptBytes: 0 }
  private lastError: string | undefined

  constructor(options: SharedTierOptions) {
    this.redis = options.redis
    this.prefix = options.prefix
    this.budget = options.maxBytes
    this.now = options.now ?? Date.now
    this.log = options.log ?? ((message) => console.warn(`MeshCache: ${message}`))
    this.redis.on('ready', () => {
      this.lastError = undefined
      void this.refresh()
    })
  }

  get enabled(): boolean {
    return true
  }

  get connected(): boolean {
    return this.redis.status === 'ready'
  }

  has(key: string): boolean {
    return this.known.has(key)
  }

  record(key: string): DiskRecord | undefined {
    return this.known.get(key)
  }

  async read(key: string, { use = true } = {}): Promise<StoredModel | undefined> {
    const found = await this.attempt(async () => {
      const [json, file, kept] = await this.redis.hmget(this.key('rec', key), 'json', 'file', 'kept')
      if (!json || !file) return undefined
      const written = parseRecord(JSON.parse(json))
      const record = written && withKept(written, kept)
      const bytes = await this.redis.getBuffer(this.key('blob', file))
      if (!record || !bytes || bytes.byteLength !== record.bytes || sha256(bytes) !== file) {
        this.counter.readFailures++
        this.counter.dropped++
        this.report(`A model in the team's shared tier was damaged and was dropped (${key.slice(0, 12)}).`)
        await this.redis.eval(REMOVE, 0, this.prefix, key)
        this.known.delete(key)
        return undefined
      }
      return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), record }
    })
    if (!use) return found
    if (found) {
      this.counter.recordHit(found.record.generationMs)
      this.known.set(key, found.record)
      this.touch(key)
    } else {
      this.counter.recordMiss()
    }
    return found
  }

  async write(key: string, bytes: Uint8Array, info: WriteInfo): Promise<boolean> {
    const record = newRecord(key, bytes, info, this.now())
    const { file } = record
    const stored = await this.attempt(async () => {
      const [stored, evictions, evicted, kept] = (await this.redis.eval(
        WRITE,
        0,
        this.prefix,
        key,
        file,
        bytes.byteLength,
        Math.round(info.generationMs),
        JSON.stringify(record),
        record.createdAt,
        this.budget,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        info.kept ? '1' : '0',
      )) as [number, number, number, number]
      for (let i = 0; i < evictions; i++) this.counter.recordEviction(i === 0 ? evicted : 0)
      if (kept === 1) record.kept = true
      return stored === 1
    })
    if (stored) {
      this.counter.writes++
      this.known.set(key, record)
      void this.refresh()
    } else if (stored === undefined) {
      this.counter.writeFailures++
    }
    return stored === true
  }

  touch(key: string): void {
    void this.attempt(() => this.redis.eval(TOUCH, 0, this.prefix, key, this.now()))
  }

  async delete(key: string): Promise<boolean> {
    const removed = await this.attempt(() => this.redis.eval(REMOVE, 0, this.prefix, key) as Promise<number>)
    this.known.delete(key)
    void this.refresh()
    return (removed ?? 0) > 0
  }

  isKept(key: string): boolean {
    return this.known.get(key)?.kept === true
  }

  async setKept(key: string, kept: boolean): Promise<boolean> {
    const held = await this.attempt(
      () => this.redis.eval(KEEP, 0, this.prefix, key, kept ? '1' : '0', this.now(), this.budget) as Promise<number>,
    )
    const record = this.known.get(key)
    if (held === 1 && record) this.known.set(key, { ...record, kept })
    void this.refresh()
    return held === 1
  }

  async clear({ kept = false } = {}): Promise<number> {
    const removed = await this.attempt(
      () => this.redis.eval(CLEAR, 0, this.prefix, kept ? '1' : '0') as Promise<number>,
    )
    if (kept) this.known.clear()
    else for (const [key, record] of this.known) if (!record.kept) this.known.delete(key)
    void this.refresh()
    return removed ?? 0
  }

  /**
   * Entries, the kept ones then the others most recently used first (at most `limit`), and
   * what this instance knows of them. The default covers a whole team tier (20 GB of models
   * of 200 KB and more): the library lists every model in every tier.
   */
  async entries(limit = SHARED_LISTING_LIMIT): Promise<DiskRecord[]> {
    const records = await this.attempt(async () => {
      const kept = await this.redis.zrevrange(this.key('kept'), 0, limit - 1)
      const others = await this.redis.zrevrange(this.key('order'), 0, limit - kept.length - 1)
      const pipeline = this.redis.pipeline()
      for (const key of [...kept, ...others]) pipeline.hmget(this.key('rec', key), 'json', 'hits', 'kept')
      const rows = (await pipeline.exec()) ?? []
      return rows.flatMap(([, row]) => {
        const [json, hits, isKept] = row as [string | null, string | null, string | null]
        const record = json ? parseRecord(JSON.parse(json)) : undefined
        return record ? [{ ...withKept(record, isKept), hits: Number(hits ?? 0) }] : []
      })
    })
    for (const record of records ?? []) this.known.set(record.key, record)
    return records ?? []
  }

  /** The shared tier's budget comes from the team's configuration (MESHCACHE_SHARED_MAX_BYTES). */
  setMaxBytes(maxBytes: number): void {
    this.budget = maxBytes
  }

  /** The policy is the team's: one setting in Redis, so every instance ranks entries alike. */
  setPolicy(policy: EvictionPolicyName): void {
    void this.attempt(() => this.redis.set(this.key('policy'), policy))
  }

  stats(): SharedStats {
    return {
      ...this.counter.snapshot(),
      enabled: true,
      connected: this.connected,
      currentItems: this.occupancy.items,
      currentBytes: this.occupancy.bytes,
      keptItems: this.occupancy.keptItems,
      keptBytes: this.occupancy.keptBytes,
      maxBytes: this.budget,
      lastError: this.connected
        ? (this.lastError ?? null)
        : "The team's Redis cannot be reached: working on this machine's tiers only.",
    }
  }

  async flush(): Promise<void> {
    await this.refresh()
  }

  close(): void {
    this.redis.disconnect()
  }

  /** Reads the occupancy (other instances change it too). */
  async refresh(): Promise<void> {
    await this.attempt(async () => {
      const [others, keptItems, total, keptTotal] = await Promise.all([
        this.redis.zcard(this.key('order')),
        this.redis.zcard(this.key('kept')),
        this.redis.get(this.key('total')),
        this.redis.get(this.key('keptTotal')),
      ])
      this.occupancy = {
        items: others + keptItems,
        bytes: Number(total ?? 0),
        keptItems,
        keptBytes: Number(keptTotal ?? 0),
      }
    })
  }

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':')
  }

  /** Runs a Redis step; undefined (and a note) when Redis is unreachable or fails. */
  private async attempt<T>(step: () => Promise<T>): Promise<T | undefined> {
    if (!this.connected) return undefined
    try {
      return await step()
    } catch (error) {
      this.report(`The team's shared tier failed: ${error instanceof Error ? error.message : String(error)}`)
      return undefined
    }
  }

  private report(message: string): void {
    if (message !== this.lastError) this.log(message)
    this.lastError = message
  }
}

/** The record with the team's kept flag: a hash field, changed without rewriting the record's JSON. */
function withKept(record: DiskRecord, kept: string | null | undefined): DiskRecord {
  const { kept: _asWritten, ...rest } = record
  return kept ? { ...rest, kept: true } : rest
}
