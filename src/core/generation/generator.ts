import type { BackendState, Quality, ServerInfo, Stage } from '../../shared/contract'

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
  /** The server identity the request was keyed for: its job goes only to a server of that kind. */
  keyedFor?: string
  /**
   * A request that arrived in Hunyuan3D-2's own api_server protocol, as its client sent it:
   * a Hunyuan3D-2 backend forwards these fields unchanged; others use the fields above.
   */
  upstream?: Record<string, unknown>
}

export interface GenerateProgress {
  stage: Stage
  /** 0..1 across the whole job. */
  fraction: number
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
}

/** What of an app request may decide a model; each generator keys the part it reads. */
export interface KeyRequest {
  quality: Quality
  seed: number
  /** Resolved before keying (see Generator.textureByDefault). */
  texture: boolean
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
  describe(): Promise<GeneratorDescription>
  /**
   * Everything besides the picture that decides the output: the backend's version and the
   * request's fields this generator really reads (never one it ignores). Part of the cache key.
   */
  keyParams(request: KeyRequest): Promise<Record<string, string | number | boolean>>
  generate(input: GeneratorInput, options: GenerateOptions): Promise<GeneratedModel>
  /** A GPU server backend: the variant and identity of the server requests are keyed for now. */
  serverKind?(): Promise<ServerKind>
  /** Whether a request that does not say is textured (a GPU server's setting); no otherwise. */
  textureByDefault?(): Promise<boolean>
  /** Releases what the generator holds (worker threads, connections). */
  close?(): Promise<void>
}
