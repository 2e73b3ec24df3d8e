import type { BackendState, Quality, ServerInfo, Stage } from '../../shared/contract'

/** A job a GPU server accepted through /send, by its uid: what a restart needs to collect it. */
export interface RemoteHandle {
  url: string
  uid: string
  /** The server's process when it accepted the job (2.1's worker_id): another process has lost it. */
  workerId?: string
}

/** A job that outlives the app (a queued job): told when a server accepts it, and where to collect it after a restart. */
export interface RemoteJob {
  /** Collect this job instead of sending the request again, when its server still holds it. */
  resume?: RemoteHandle
  onSent?(handle: RemoteHandle): void
}

export interface GeneratorInput {
  /** The validated upload: PNG, JPEG or WebP bytes. */
  image: Uint8Array
  prompt: string
  quality: Quality
  seed: number
  /** Paint a texture (a GPU server; the builtin generator always uses the picture as its texture). Absent: no. */
  texture?: boolean
  /** An untextured model of this very request, to be textured only (shape reuse, Hunyuan3D 2.0). */
  mesh?: Uint8Array
  /** The route (server identity and model, `routeOf`) the request was keyed for: its job goes only to such a server. */
  keyedFor?: string
  /**
   * A request that arrived in Hunyuan3D-2's own api_server protocol, as its client sent it:
   * a Hunyuan3D-2 backend forwards these fields unchanged; others use the fields above.
   */
  upstream?: Record<string, unknown>
  /** A queued job's hooks (never sent anywhere: the team's queues drop them). */
  remote?: RemoteJob
  /** The MeshCaches a forwarded request passed through (`x-meshcache-via`): a loop is refused, never waited on. */
  via?: string[]
}

export interface GenerateProgress {
  stage: Stage
  /** 0..1 across the whole job. */
  fraction: number
  /** Where it runs: a GPU server's URL (set by the server), else the generator's id. */
  server?: string
  /** Since when (ms since the epoch) the GPU server has not answered, while it is silent. */
  silentSince?: number
}

export interface GenerateOptions {
  signal: AbortSignal
  onProgress?: (progress: GenerateProgress) => void
}

export interface GeneratedModel {
  /** A binary glTF (GLB) file. */
  glb: Uint8Array
  vertices?: number
  triangles?: number
}

export interface GeneratorDescription {
  name: string
  version: string
  gpu: boolean
  /** Not unreachable: a busy server is available, its jobs wait their turn. */
  available: boolean
  state: BackendState
  detail?: string
  /** Each server of a pool, with its variant and state. */
  servers?: ServerInfo[]
}

export interface ServerKind {
  variant: '2.0' | '2.1'
  identity: string
  /** The weights the server runs. */
  model: string
  /** Identity and model together: what a job keyed for this kind is routed by. */
  route: string
}

/** What of an app request may decide a model; each generator keys the part it reads. */
export interface KeyRequest {
  quality: Quality
  seed: number
  /** Resolved before keying (see Generator.textureByDefault). */
  texture: boolean
  /** A GPU pool's model to use; absent: the first reachable server's. */
  model?: string
}

/** A backend that turns an image and a prompt into a GLB. One job runs at a time per backend. */
export interface Generator {
  readonly id: string
  /** The version of what generates (a new one makes new models, so it is part of keys). */
  readonly version: string
  /** Whether it can make a model from text or texture a given mesh (a GPU server), not only from a picture. */
  readonly acceptsTextAndMesh: boolean
  /** A GPU server backend (the builtin generator stands in for these only when none is reachable). */
  readonly gpu?: boolean
  /** What makes its models, for a generator that is not a pool of servers (whose models are per server). */
  readonly model?: string
  describe(): Promise<GeneratorDescription>
  /**
   * Everything besides the picture that decides the output: the backend's version and the
   * request's fields this generator really reads (never one it ignores). Part of the cache key.
   */
  keyParams(request: KeyRequest): Promise<Record<string, string | number | boolean>>
  generate(input: GeneratorInput, options: GenerateOptions): Promise<GeneratedModel>
  /** A GPU server backend: the variant, identity and model of the server requests for `model` are keyed for now. */
  serverKind?(model?: string): Promise<ServerKind>
  /** Whether a request that does not say is textured (a GPU server's setting); no otherwise. */
  textureByDefault?(model?: string): Promise<boolean>
  /** What serverKind() would answer, from what is known already: never asks a server. */
  knownKind?(): ServerKind | undefined
  /** Releases what the generator holds (worker threads, connections). */
  close?(): Promise<void>
}
