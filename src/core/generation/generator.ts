import type { Quality, Stage } from '../../shared/contract'

export interface GeneratorInput {
  /** The validated upload: PNG, JPEG or WebP bytes. */
  image: Uint8Array
  prompt: string
  quality: Quality
  seed: number
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
  available: boolean
  detail?: string
}

/** A backend that turns an image and a prompt into a GLB. One job runs at a time per backend. */
export interface Generator {
  readonly id: string
  /** The version of what generates (a new one makes new models, so it is part of keys). */
  readonly version: string
  /** Whether it can make a model from text or texture a given mesh (a GPU server), not only from a picture. */
  readonly acceptsTextAndMesh: boolean
  describe(): Promise<GeneratorDescription>
  /**
   * Everything besides the request itself that decides the output: the backend's version and
   * the parameters it resolves from the quality. Part of the cache key.
   */
  identity(quality: Quality): Record<string, string | number | boolean>
  generate(input: GeneratorInput, options: GenerateOptions): Promise<GeneratedModel>
  /** Releases what the generator holds (worker threads, connections). */
  close?(): Promise<void>
}
