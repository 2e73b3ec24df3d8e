import { MODEL_KEY_PATTERN } from '../../shared/addresses'
import type { CacheEntryInfo, EntryMeta } from '../../shared/cache-types'
import { sha256 } from '../sha256'

/** What a persistent tier knows of one model; its bytes live in a content-addressed file. */
export interface DiskRecord extends CacheEntryInfo {
  /** SHA-256 of the GLB: the name of its file, and its checksum. */
  file: string
  /** The user keeps it: no tier evicts it (absent in records written before Keep existed). */
  kept?: boolean
}

/** The layout version this build writes. A folder marked with a higher one is never changed. */
export const DISK_FORMAT = 2

/** The record of a model stored at `time`: its file is named by the SHA-256 of its bytes. */
export function newRecord(
  key: string,
  bytes: Uint8Array,
  info: { generationMs: number; meta: EntryMeta; kept?: boolean },
  time: number,
): DiskRecord {
  return {
    ...(info.kept ? { kept: true } : {}),
    key,
    file: sha256(bytes),
    bytes: bytes.byteLength,
    createdAt: time,
    lastAccessAt: time,
    hits: 0,
    generationMs: info.generationMs,
    meta: info.meta,
  }
}

const isCount = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0
const isTime = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0

function isMeta(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  for (const field of Object.values(value)) {
    const kind = typeof field
    if (field !== null && kind !== 'string' && kind !== 'boolean' && !(kind === 'number' && Number.isFinite(field)))
      return false
  }
  return true
}

/**
 * A record as stored, every field checked, so one bad record can be skipped without stopping
 * the start. Checked by hand, not by a schema library: a start reads a hundred thousand of
 * them, and this keeps that well under a second.
 */
export function parseRecord(value: unknown): DiskRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const r = value as Record<string, unknown>
  const valid =
    typeof r.key === 'string' &&
    MODEL_KEY_PATTERN.test(r.key) &&
    typeof r.file === 'string' &&
    MODEL_KEY_PATTERN.test(r.file) &&
    isCount(r.bytes) &&
    isTime(r.createdAt) &&
    isTime(r.lastAccessAt) &&
    isCount(r.hits) &&
    isTime(r.generationMs) &&
    isMeta(r.meta) &&
    (r.kept === undefined || typeof r.kept === 'boolean')
  return valid ? (value as DiskRecord) : undefined
}

/** The snapshot of the index: records least recently used first (reloading in order rebuilds recency). */
export interface IndexSnapshot {
  version: number
  /**
   * The records folder's modification time when the snapshot was taken: when it has not
   * changed since, no record was written or removed after it, and a start need not list the
   * folder.
   */
  recordsMtimeMs?: number
  entries: unknown[]
}

export type SnapshotReading =
  | { state: 'missing' }
  | { state: 'ok'; version: number; entries: unknown[]; recordsMtimeMs?: number }
  /** Unreadable as a whole: `salvaged` holds the complete record objects found in it. */
  | { state: 'damaged'; reason: string; salvaged: unknown[] }

/** Reads an index file's text: whole, or else every complete record object that can be found in it. */
export function readSnapshotText(text: string): SnapshotReading {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { state: 'damaged', reason: 'it is not valid JSON', salvaged: salvageObjects(text) }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { state: 'damaged', reason: 'it is not an index object', salvaged: [] }
  }
  const { version, entries, recordsMtimeMs } = parsed as {
    version?: unknown
    entries?: unknown
    recordsMtimeMs?: unknown
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || !Array.isArray(entries)) {
    return {
      state: 'damaged',
      reason: 'it has no version or no entries',
      salvaged: Array.isArray(entries) ? entries : [],
    }
  }
  const mtime = typeof recordsMtimeMs === 'number' ? recordsMtimeMs : undefined
  return { state: 'ok', version, entries, recordsMtimeMs: mtime }
}

/**
 * Finds every complete JSON object that starts with a "key" field in damaged text (a
 * truncated or partly overwritten index), by matching braces outside strings.
 */
export function salvageObjects(text: string): unknown[] {
  const found: unknown[] = []
  let from = 0
  for (;;) {
    const start = text.indexOf('{"key"', from)
    if (start < 0) return found
    const end = matchingBrace(text, start)
    if (end < 0) return found
    try {
      found.push(JSON.parse(text.slice(start, end + 1)))
    } catch {
      // not a whole object after all: look further on
    }
    from = start + 1
  }
}

function matchingBrace(text: string, start: number): number {
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{') depth++
    else if (c === '}' && --depth === 0) return i
  }
  return -1
}
