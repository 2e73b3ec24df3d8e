import type {
  CacheEntryInfo,
  CacheLimits,
  CacheStats,
  DiskStats,
  EvictionPolicyName,
  SharedStats,
  Tier,
} from './cache-types'

/**
 * The data that crosses between the renderer and the app (over IPC or HTTP). The operations
 * themselves, with their argument schemas and routes, are in operations.ts.
 */

export const QUALITIES = ['draft', 'standard', 'high'] as const
export type Quality = (typeof QUALITIES)[number]

/** 'exact' serves only the very same request; 'similar' also a near-identical picture's model. */
export const REUSE_MODES = ['exact', 'similar'] as const
export type ReuseMode = (typeof REUSE_MODES)[number]

export interface GenerateRequest {
  /** The picture's bytes: PNG, JPEG or WebP (over HTTP: base64 text). */
  image: Uint8Array | string
  /** The picked or dropped file's name: the entry's title when there is no prompt. */
  pictureName?: string
  prompt?: string
  quality?: Quality
  seed?: number
  /** Paint a texture (GPU servers: minutes more; the builtin generator always uses the picture). */
  texture?: boolean
  /** A backend id from `backends()`; the default backend when absent. */
  backend?: string
  /** The GPU servers' model to use (a ServerInfo.model); absent: the model of the first reachable server. */
  model?: string
  /** Chosen by the caller so progress events and cancel can name this request. */
  requestId?: string
  reuse?: ReuseMode
}

/** How a request was served: 'similar' is another picture's model, accepted by the caller. */
export type ResultOutcome = 'hit' | 'miss' | 'coalesced' | 'similar'

export interface GenerateResult {
  requestId: string
  /** SHA-256 of the canonical request (64 hex); for 'similar', the matched model's key. */
  key: string
  cache: ResultOutcome
  /** Where the model came from: a tier for hits, 'generator' for a generation or a joined one. */
  tier: Tier | 'generator'
  /** Size of the GLB. */
  bytes: number
  /** How long the model originally took to generate. */
  generationMs: number
  /** How long this request took to serve, end to end in the app. */
  servedMs: number
  backend: string
  /** The weights (or the builtin generator and its version) that made it; absent for models from before it was recorded. */
  model?: string
  /** Where the GLB can be loaded from (meshcache:// in Electron, /models/ over HTTP). */
  modelUrl: string
  /**
   * False when no tier could keep the model (larger than every limit, or a full disk): it
   * stays downloadable at modelUrl for a while, but a repeat will generate it again.
   */
  stored: boolean
  /** For 'similar': the requested picture's own key, and how different the pictures are (bits of 64). */
  requestedKey?: string
  distance?: number
  /** Why a GPU server did not make it: set when the builtin generator stood in. */
  fallback?: string
  /** Texturing only: the untextured model of the same request was cached and sent to be textured. */
  shapeReused?: boolean
}

export interface SimilarMatch {
  key: string
  /** Hamming distance between the pictures' perceptual hashes, 0..64. */
  distance: number
  prompt: string
  modelUrl: string
  thumbnailUrl: string
  bytes: number
  generationMs: number
}

export interface SimilarResult {
  /** Nearest first, within the configured threshold. */
  matches: SimilarMatch[]
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
  'texturing',
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
  /** Where it runs: a GPU server's URL, or the generator's id. */
  server?: string
  /** Since when (ms since the epoch) its GPU server has not answered, while it is silent. */
  silentSince?: number
}

/**
 * A job: a request the app accepted and keeps (its picture on disk) until it is done, failed
 * or cancelled, across quits and crashes. Identical requests waiting or running join one job.
 */
export const JOB_STATES = ['waiting', 'running', 'done', 'failed', 'cancelled'] as const
export type JobState = (typeof JOB_STATES)[number]

/** The settings a job was asked with (the generate request without its picture). */
export interface JobSettings {
  prompt: string
  quality: Quality
  seed: number
  texture?: boolean
  backend?: string
  model?: string
  reuse: ReuseMode
}

/** What the last start did with a job that was running when the app stopped. */
export const JOB_RESUMES = ['collected', 'sent again', 'run again'] as const
export type JobResume = (typeof JOB_RESUMES)[number]

export interface JobInfo {
  /** 32 hex characters. */
  id: string
  /** Grows with every change of any job: of two infos of one job, the higher is the later. */
  revision: number
  state: JobState
  /** The picked or dropped file's name, when the client gave it. */
  pictureName: string | null
  settings: JobSettings
  /** 1 for the next job to start, while waiting; the backend's queue position while it waits there. */
  position?: number
  /** Where it runs or ran: a GPU server's URL, or the generator's id. */
  server?: string
  stage?: Stage
  /** 0..1 while running. */
  fraction?: number
  /** Since when (ms since the epoch) its GPU server has not answered, while it is silent. */
  silentSince?: number
  /** When it was accepted, started and ended (ms since the epoch). */
  queuedAt: number
  startedAt?: number
  endedAt?: number
  /** When done: the model's key, where to load it, and how it was served. */
  key?: string
  modelUrl?: string
  cache?: ResultOutcome
  /** When failed: the reason in words for the user. */
  error?: string
  /** A job the app was running when it stopped, and what the next start did with it. */
  resumed?: JobResume
  /** How it was served, when it finished while this app ran (not kept across restarts). */
  result?: GenerateResult
  /** The picture, small, for the jobs list (once made, just after the job was accepted). */
  pictureUrl?: string
}

/** A change of the jobs list: one job's new state, or jobs cleared away. */
export interface JobsChangedEvent {
  job?: JobInfo
  removed?: string[]
}

export interface SubmitJobsResult {
  /** One per request, in order: a new job, or the waiting or running one an identical request joined. */
  jobs: JobInfo[]
}

export interface JobsList {
  jobs: JobInfo[]
  /** Job records that could not be read at start and were set aside (never fatal), in words. */
  problems: string[]
}

export const CHANGE_REASONS = [
  'stored',
  'accessed',
  'evicted',
  'deleted',
  'cleared',
  'limits',
  'replaced',
  'kept',
] as const
export interface CacheChangedEvent {
  reason: (typeof CHANGE_REASONS)[number]
}

export const SORT_FIELDS = ['lastAccessAt', 'createdAt', 'bytes', 'hits', 'generationMs', 'prompt'] as const
export type SortField = (typeof SORT_FIELDS)[number]

export interface EntryInfo extends CacheEntryInfo {
  /** The nearest tier holding it: 'memory' entries have copies in the persistent tiers too. */
  tier: Tier
  thumbnailUrl: string | null
  /** The user keeps it: no tier evicts it, and a clear leaves it unless asked otherwise. */
  kept: boolean
}

export interface EntriesPage {
  /** Entries the query's filter lets through (all of them, without one). */
  total: number
  offset: number
  items: EntryInfo[]
  /** The models (weights) named by any entry, filtered or not: the library's model filter. */
  models: string[]
}

/** Statistics of every tier: memory (the cache itself), disk and the team's shared tier. */
export interface ServiceStats extends CacheStats {
  disk: DiskStats | null
  shared: SharedStats | null
  /** Similar models offered before generating, and accepted instead of generating. */
  similarOffers: number
  similarReuses: number
  /** Textured requests whose cached untextured model was sent to be textured only, and the GPU time that saved. */
  shapeReuses: number
  shapeSavedMs: number
}

export const BACKEND_STATES = ['ready', 'busy', 'unreachable'] as const
export type BackendState = (typeof BACKEND_STATES)[number]

/** Where a GPU server was set: MESHCACHE_HUNYUAN_URL, the app's settings, or the server the app starts itself. */
export const SERVER_SOURCES = ['environment', 'settings', 'local'] as const
export type ServerSource = (typeof SERVER_SOURCES)[number]

export interface ServerInfo {
  /** Stable for a URL (`gpu-` and 12 hex). */
  id: string
  url: string
  source: ServerSource
  /** Jobs it runs at once. */
  concurrency: number
  /** Whether requests that do not say are textured on it. */
  texture: boolean
  state: BackendState
  /** '2.0' or '2.1' once the server has answered. */
  variant?: string
  detail?: string
  /** This app's jobs running there now. */
  running: number
  /** The weights it runs (part of every key it serves); absent until it has answered, unless named. */
  model?: string
  /** Who named the model: the user, the launch flags (the local server), or upstream's default for the variant. */
  modelSource?: 'named' | 'flags' | 'default'
  /** It ignores the seed and samples anew each run (Hunyuan3D 2.1): the seed numbers the samples. */
  seedIsSample?: boolean
  /** When a new worker id showed it had restarted (ms since the epoch); it was identified again. */
  restartedAt?: number
}

export interface BackendInfo {
  id: string
  name: string
  version: string
  gpu: boolean
  /** Not unreachable (a busy GPU server is available: its jobs wait their turn). */
  available: boolean
  state: BackendState
  /** Why it is busy or unreachable, in words for the user. */
  detail?: string
  isDefault: boolean
  /** The servers of a GPU backend. */
  servers?: ServerInfo[]
  /** What could not be read of the saved GPU servers at start, in words. */
  notices?: string[]
}

/** What testing a GPU server's URL found (nothing is saved). */
export interface BackendTestResult {
  url: string
  /** It answered as a Hunyuan3D api_server. */
  ok: boolean
  state: BackendState
  variant?: string
  /** How long its answer took, in ms. */
  roundTripMs?: number
  detail?: string
  /** Upstream's default model for the variant that answered: the model it gets unless named. */
  defaultModel?: string
}

export interface WarmResult {
  /** Keys of the requests queued for background generation (already cached ones included). */
  keys: string[]
}

export interface CacheConfig extends CacheLimits {
  /** The disk tier's byte limit; null when the disk tier is off. */
  diskMaxBytes: number | null
  policy: EvictionPolicyName
  /** Most bits of 64 in which two pictures' hashes may differ to count as similar. */
  similarityThreshold: number
}

export type CacheConfigPatch = Partial<Omit<CacheConfig, 'diskMaxBytes'> & { diskMaxBytes: number }>

/**
 * 'memory' drops the memory tier only (models stay on disk); 'all' drops this machine's
 * tiers; 'team' also the team's shared tier, for everyone.
 */
export const CLEAR_SCOPES = ['memory', 'all', 'team'] as const
export type ClearScope = (typeof CLEAR_SCOPES)[number]

export interface ClearResult {
  removed: number
  removedFromDisk: number
  removedFromShared: number
  /** Models the user keeps that the clear left in place (none when it was asked to take them too). */
  keptLeft: number
}

/** What each policy would have saved on the app's own recent requests, at the current limits. */
export interface PolicyReport {
  /** Requests in the log the replay used. */
  requests: number
  current: EvictionPolicyName
  results: { policy: EvictionPolicyName; savedMs: number; hitRate: number; byteHitRate: number }[]
}

/** What the window shows first: the app, or the screen that says why it could not start. */
export interface AppStatus {
  /** Why the service could not start, in words for the user; null when it runs. */
  startupError: string | null
  /** The desktop app (it has a data folder, a log file and a menu); false in the browser. */
  desktop: boolean
}

/** What the desktop shell does for the window: the start-up error screen's and the menu's buttons. */
export const DESKTOP_ACTIONS = ['openDataFolder', 'openLogFile', 'quit'] as const
export type DesktopAction = (typeof DESKTOP_ACTIONS)[number]

/** A picture the shell hands the window (File > Open picture…, or a second launch's argument). */
export interface OpenPictureEvent {
  name: string
  bytes: Uint8Array
}

/** A menu item that runs a button's action in the window. */
export const MENU_COMMANDS = ['saveModel'] as const
export interface MenuCommandEvent {
  command: (typeof MENU_COMMANDS)[number]
}

/** A Hunyuan3D checkout's api_server.py that the desktop app starts and looks after. */
export interface LocalServerConfig {
  /** The Python that runs it (the checkout's virtual environment, usually). */
  python: string
  /** The Hunyuan3D checkout (the folder holding api_server.py). */
  checkout: string
  port: number
  /** --enable_tex (2.0: texturing is available). */
  enableTexture: boolean
  /** --low_vram_mode */
  lowVram: boolean
  /** --model_path, when not upstream's default. */
  modelPath?: string
  /** --subfolder: the weights folder inside model_path. */
  subfolder?: string
  /** --tex_model_path (2.0): the texturing weights. */
  texModelPath?: string
  /** --enable_flashvdm (2.1). */
  flashvdm?: boolean
  /** --mc_algo (2.1): the surface extraction, 'mc' upstream. */
  mcAlgo?: string
}

export const LOCAL_SERVER_STATES = ['stopped', 'starting', 'running', 'restarting', 'failed'] as const
export type LocalServerState = (typeof LOCAL_SERVER_STATES)[number]

export interface LocalServerStatus {
  state: LocalServerState
  config: LocalServerConfig | null
  /** Where it answers once running. */
  url: string | null
  pid: number | null
  /** Times it was started again after it died. */
  restarts: number
  /** Why it last stopped or could not start, in words. */
  problem: string | null
  /** Its latest output lines (stdout and stderr), oldest first. */
  output: string[]
}

/** The local server's status before it was ever started (and the browser host's, which has none). */
export const STOPPED_LOCAL_SERVER: LocalServerStatus = {
  state: 'stopped',
  config: null,
  url: null,
  pid: null,
  restarts: 0,
  problem: null,
  output: [],
}
