import type { Quality } from '../../../shared/contract'

/**
 * The two Hunyuan3D api_server variants in use, and what each really does with a request
 * (from their source: Hunyuan3D-2 api_server.py at 9bcf302, Hunyuan3D-2.1 api_server.py and
 * api_models.py at 82920d6; ../shared/design.md §5). A request is sent within the variant's
 * limits, and keyed by what that variant's worker reads, so a field it ignores can never make
 * MeshCache run the same model twice.
 */
export type HunyuanVariant = '2.0' | '2.1'

export type Params = Record<string, string | number | boolean>

/** Inclusive bounds of the numeric fields a server validates. */
export type FieldLimits = Record<string, { min: number; max: number }>

/** 2.1's pydantic GenerationRequest bounds (used when its /openapi.json cannot be read). */
export const LIMITS_2_1: FieldLimits = {
  seed: { min: 0, max: 2 ** 32 - 1 },
  octree_resolution: { min: 64, max: 512 },
  num_inference_steps: { min: 1, max: 20 },
  guidance_scale: { min: 0.1, max: 20 },
  num_chunks: { min: 1000, max: 20000 },
  face_count: { min: 1000, max: 100000 },
}

/** The shape parameters MeshCache's qualities stand for. */
const PRESETS: Record<Quality, { octree_resolution: number; num_inference_steps: number; face_count: number }> = {
  draft: { octree_resolution: 128, num_inference_steps: 5, face_count: 10_000 },
  standard: { octree_resolution: 256, num_inference_steps: 30, face_count: 40_000 },
  high: { octree_resolution: 384, num_inference_steps: 50, face_count: 100_000 },
}
const GUIDANCE = 5.0

export interface DialectRequest {
  quality: Quality
  seed: number
  texture: boolean
}

export interface Dialect {
  variant: HunyuanVariant
  /** The JSON body for a request from the app (the picture and mesh are added by the client). */
  body(request: DialectRequest, limits: FieldLimits): Params
  /**
   * What of a request decides this variant's output on a server running `model` (the
   * weights): the cache key's parameters.
   */
  keyParams(request: DialectRequest, identity: string, model: string): Params
  /**
   * The server ignores the seed and samples anew on every run (2.1's worker passes no
   * generator to its pipeline): the seed then numbers the samples, so the same seed is the
   * kept sample and another seed asks for a new one.
   */
  seedIsSample: boolean
  /** 2.0 textures a mesh it is given and skips shape generation (`mesh` + `texture:true`). */
  texturesGivenMesh: boolean
  /**
   * /send + /status gives progress and holds no connection for minutes, but only 2.1 ever
   * reports a failure there; 2.0's failed /send job stays "processing" for ever, so 2.0 is
   * asked through /generate, whose failures answer at once.
   */
  prefersSend: boolean
}

/** Numeric fields moved within a server's bounds. */
export function clamp(params: Params, limits: FieldLimits): Params {
  const out: Params = { ...params }
  for (const [name, bound] of Object.entries(limits)) {
    const value = out[name]
    if (typeof value === 'number') out[name] = Math.min(bound.max, Math.max(bound.min, value))
  }
  return out
}

export const DIALECTS: Record<HunyuanVariant, Dialect> = {
  '2.0': {
    variant: '2.0',
    body({ quality, seed, texture }) {
      const preset = PRESETS[quality]
      return {
        seed,
        octree_resolution: preset.octree_resolution,
        num_inference_steps: preset.num_inference_steps,
        guidance_scale: GUIDANCE,
        texture,
        ...(texture ? { face_count: preset.face_count } : {}),
        type: 'glb',
      }
    },
    // `text` is ignored when a picture is given; face_count matters only with texture.
    keyParams(request, identity, model) {
      return { variant: '2.0', identity, model, ...this.body(request, {}) }
    },
    // ModelWorker.generate seeds torch.Generator(device).manual_seed(seed) (api_server.py).
    seedIsSample: false,
    texturesGivenMesh: true,
    prefersSend: false,
  },
  '2.1': {
    variant: '2.1',
    body({ quality, seed }, limits) {
      const preset = PRESETS[quality]
      // 2.1's worker calls pipeline(image=image) and textures every job; the fields are still
      // sent (within its limits, which it validates) for a server that may read them one day.
      return clamp(
        {
          seed,
          octree_resolution: preset.octree_resolution,
          num_inference_steps: preset.num_inference_steps,
          guidance_scale: GUIDANCE,
          face_count: preset.face_count,
          texture: true,
          remove_background: true,
        },
        { ...LIMITS_2_1, ...limits },
      )
    },
    // The picture, the weights and which sample decide a 2.1 model; every job is textured.
    keyParams({ seed }, identity, model) {
      return { variant: '2.1', identity, model, textured: true, sample: seed }
    },
    // model_worker.py calls self.pipeline(image=image): no generator, a new sample each run.
    seedIsSample: true,
    texturesGivenMesh: false,
    prefersSend: true,
  },
}
