import type { CacheEntryInfo, CacheLimits, CacheOutcome, CacheStats, DiskStats, Tier } from './cache-types'

/**
 * The one contract between the renderer and the main process (over IPC or HTTP).
 * Runtime schemas for every payload are in schemas.ts.
 */

export const QUALITIES = ['draft', 'standard', 'high'] as const
export type Quality = (typeof QUALITIES)[number]

export interface GenerateRequest {
  /** The uploaded file's bytes: PNG, JPEG or WebP. */
  image: Uint8Array
  prompt: string
  quality: Quality
  seed: number
  /** A backend id from `backends()`; the default backend when absent. */
  backend?: string
  /** Chosen by the caller so progress events and cancel can name this request. */
  requestId?: string
}

export interface GenerateResult {
  requestId: string
  /** SHA-256 of the canonical request (64 hex). */
  key: string
  /** A model read back from the disk tier is a hit too (tier says which). */
  cache: CacheOutcome
  /** Where a hit came from; 'generator' for a miss or a joined generation. */
  tier: Tier | 'generator'
  /** Size of the GLB. */
  bytes: number
  /** How long the model originally took to generate. */
  generationMs: number
  /** How long this request took to serve, end to end in the main process. */
  servedMs: number
  backend: string
  /** Where the GLB can be loaded from (meshcache:// in Electron, /models/ over HTTP). */
  modelUrl: string
}

export const STAGES = [
  'queued',
  'decoding',
  'segmenting',
  'inflating',
  'meshing',
  'encoding',
  'uploading',
  'generating',
  'done',
] as const
export type Stage = (typeof STAGES)[number]

export interface ProgressEvent {
  requestId: string
  stage: Stage
  /** 0..1 across the whole job. */
  fraction: number
  /** Jobs ahead in the backend's queue, while queued. */
  position?: number
}

export interface CacheChangedEvent {
  reason: 'stored' | 'accessed' | 'evicted' | 'deleted' | 'cleared' | 'limits' | 'replaced'
}

export type SortField = 'lastAccessAt' | 'createdAt' | 'bytes' | 'hits' | 'generationMs' | 'prompt'

export interface EntriesQuery {
  offset?: number
  limit?: number
  sort?: SortField
  order?: 'asc' | 'desc'
}

export interface EntryInfo extends CacheEntryInfo {
  /** 'memory' entries have a disk copy too when the disk tier is on; 'disk' ones are on disk only. */
  tier: Tier
}

export interface EntriesPage {
  total: number
  offset: number
  items: EntryInfo[]
}

/** Statistics of the memory tier (the LRU cache) and, when it is on, of the disk tier. */
export interface ServiceStats extends CacheStats {
  disk: DiskStats | null
}

export interface BackendInfo {
  id: string
  name: string
  version: string
  gpu: boolean
  available: boolean
  /** Why it is unavailable, in words for the user. */
  detail?: string
  isDefault: boolean
}

export interface WarmResult {
  /** Keys of the requests queued for background generation (already cached ones included). */
  keys: string[]
}

export interface CacheConfig extends CacheLimits {
  /** The disk tier's byte limit; null when the disk tier is off. */
  diskMaxBytes: number | null
}

export type CacheConfigPatch = Partial<CacheLimits> & { diskMaxBytes?: number }

/** 'memory' drops the memory tier only (models stay on disk); 'all' drops both. */
export type ClearScope = 'memory' | 'all'

export interface ClearResult {
  removed: number
  removedFromDisk: number
}

/** What the renderer can ask of the main process. Every method rejects with an ErrorPayload-shaped error. */
export interface Api {
  generate(request: GenerateRequest): Promise<GenerateResult>
  cancel(requestId: string): Promise<boolean>
  stats(): Promise<ServiceStats>
  entries(query?: EntriesQuery): Promise<EntriesPage>
  deleteEntry(key: string): Promise<boolean>
  clear(scope?: ClearScope): Promise<ClearResult>
  getConfig(): Promise<CacheConfig>
  setConfig(config: CacheConfigPatch): Promise<CacheConfig>
  warm(requests: GenerateRequest[]): Promise<WarmResult>
  backends(): Promise<BackendInfo[]>
  /** Writes the GLB where the user chooses (Electron: a save dialog; browser: a download). */
  saveModel(key: string, suggestedName: string): Promise<boolean>
  modelUrl(key: string): string
  onProgress(listener: (event: ProgressEvent) => void): () => void
  onCacheChanged(listener: (event: CacheChangedEvent) => void): () => void
}

/** First 12 hex characters of a model key: for display only, never for lookups. */
export function shortKey(key: string): string {
  return key.slice(0, 12)
}

/** The file name a model is saved under: its prompt and the start of its key. */
export function modelFileName(prompt: string, key: string): string {
  const base = prompt
    .trim()
    .replace(/\W+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
  return `${base || 'model'}-${key.slice(0, 8)}.glb`
}
