import { z } from 'zod'
import type { Quality } from '../../shared/contract'
import { DEFAULT_SEED, MAX_PROMPT_CHARS, MAX_UPLOAD_BYTES } from '../../shared/limits'
import { base64BytesSchema } from '../../shared/schemas'
import type { Generator, ServerKind } from '../generation/generator'
import { canonicalJson, normalizePrompt, type PixelDigester } from '../generation/request-key'
import { sha256 } from '../sha256'
import { MODEL_TYPES } from './model-formats'

/**
 * The request of Hunyuan3D's api_server.py (`/generate`, `/send`), as its clients send it:
 * the Blender add-on, the README's curl, 2.1's test client, scripts. At least as lenient as
 * upstream: every field either variant reads is taken (2.0 hands the whole body to its
 * pipeline), and a field no variant reads is accepted and ignored, as upstream ignores it.
 */

/** A mesh to texture (GLB, base64): at most this many bytes. */
export const MAX_MESH_BYTES = 64 * 1024 * 1024
/** A picture as upstream reads it: any size (MeshCache scales a large one down for its own use). */
export const MAX_COMPAT_PICTURE_BYTES = MAX_UPLOAD_BYTES
/** A body with a mesh and four views, base64-encoded, and room for the other fields. */
export const COMPAT_BODY_LIMIT = Math.ceil(((4 * MAX_COMPAT_PICTURE_BYTES + MAX_MESH_BYTES) * 4) / 3) + 1024 * 1024

/** Hunyuan3D 2.0's defaults (api_server.py): a field left out means these. */
export const UPSTREAM_DEFAULTS = {
  seed: DEFAULT_SEED,
  octree_resolution: 128,
  num_inference_steps: 5,
  guidance_scale: 5.0,
  texture: false,
  face_count: 40000,
  type: 'glb',
} as const

const bytesUpTo = (name: string, limit: number) =>
  base64BytesSchema.refine((bytes) => bytes.byteLength <= limit, {
    message: `${name} must be at most ${limit / (1024 * 1024)} MB`,
  })

const picture = bytesUpTo('each picture', MAX_COMPAT_PICTURE_BYTES).optional()
/** A whole number within bounds, with the bounds in the message as a person writes them. */
const whole = (min: number, max: number, name = 'this field') => {
  const says = `${name} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`
  return z.number({ error: says }).int(says).min(min, says).max(max, says)
}

export const hunyuanRequestSchema = z
  .looseObject({
    image: picture,
    image_front: picture,
    image_left: picture,
    image_back: picture,
    image_right: picture,
    text: z.string().max(MAX_PROMPT_CHARS, `text must be at most ${MAX_PROMPT_CHARS} characters`).optional(),
    mesh: bytesUpTo('mesh', MAX_MESH_BYTES).optional(),
    // 2.1 validates 0..2**32-1; 2.0's torch generator takes that range too.
    seed: whole(0, 2 ** 32 - 1, 'seed').default(UPSTREAM_DEFAULTS.seed),
    octree_resolution: whole(16, 1024, 'octree_resolution').default(UPSTREAM_DEFAULTS.octree_resolution),
    num_inference_steps: whole(1, 500, 'num_inference_steps').default(UPSTREAM_DEFAULTS.num_inference_steps),
    guidance_scale: z.number().min(0).max(100).default(UPSTREAM_DEFAULTS.guidance_scale),
    texture: z.boolean().default(UPSTREAM_DEFAULTS.texture),
    face_count: whole(1, 10_000_000, 'face_count').default(UPSTREAM_DEFAULTS.face_count),
    type: z.enum(MODEL_TYPES, { error: 'type must be glb, obj, ply or stl' }).default('glb'),
    // 2.0's pipeline reads these from the body too; 2.1 validates num_chunks and remove_background.
    num_chunks: whole(1, 10_000_000, 'num_chunks').optional(),
    box_v: z.number().min(0).max(100).optional(),
    mc_level: z.number().min(-100).max(100).optional(),
    output_type: z.string().max(32).optional(),
    remove_background: z.boolean().optional(),
  })
  .refine((request) => VIEWS.some((view) => request[view] !== undefined) || request.text !== undefined, {
    message: 'give an image (base64) or a text prompt',
  })

export type HunyuanRequest = z.output<typeof hunyuanRequestSchema>

/** The pictures a request may carry, in the names 2.0 reads them by. */
export const VIEWS = ['image', 'image_front', 'image_left', 'image_back', 'image_right'] as const

/** The fields 2.0's shape pipeline reads when no mesh is given (every other field but texture's). */
const SHAPE_FIELDS = ['seed', 'octree_resolution', 'num_inference_steps', 'guidance_scale'] as const
const PIPELINE_FIELDS = ['num_chunks', 'box_v', 'mc_level', 'output_type'] as const

/** The builtin generator's quality for an octree resolution: ≤128 draft, ≤256 standard, above high. */
export function qualityForOctree(octreeResolution: number): Quality {
  if (octreeResolution <= 128) return 'draft'
  return octreeResolution <= 256 ? 'standard' : 'high'
}

/**
 * What of a request decides the model, for the generator that will make it:
 * - Hunyuan3D 2.1 reads the picture only, textures every job and samples anew each run (the
 *   seed numbers the samples);
 * - every GPU server's model (its weights) is keyed: the drop-in's requests go to the default model;
 * - 2.0 reads every view; with a mesh, only texturing runs (octree, steps, guidance and seed
 *   are ignored); without one, the shape fields and the pipeline's own; `text` only when no
 *   picture is given; face_count only with texture;
 * - the builtin generator reads the front picture at the quality the octree resolution stands for.
 * `type` is not keyed: one GLB is kept and written out in each format asked for.
 */
async function keyedFields(
  request: HunyuanRequest,
  generator: Generator,
  kind: ServerKind | undefined,
  digest: (bytes: Uint8Array) => Promise<string>,
): Promise<Record<string, unknown>> {
  const front = request.image ?? request.image_front
  if (!kind) {
    const params = await generator.keyParams({
      quality: qualityForOctree(request.octree_resolution),
      seed: request.seed,
      texture: request.texture,
    })
    return { params, image: front ? await digest(front) : null }
  }
  // 2.1 samples anew on every run whatever the seed: the seed numbers the samples (Dialect.seedIsSample).
  if (kind.variant === '2.1')
    return {
      identity: kind.identity,
      model: kind.model,
      image: front ? await digest(front) : null,
      textured: true,
      sample: request.seed,
    }
  const views: Record<string, string> = {}
  for (const view of VIEWS) {
    const bytes = request[view]
    if (bytes) views[view === 'image_front' ? 'image' : view] = await digest(bytes)
  }
  const fields: Record<string, unknown> = {
    identity: kind.identity,
    model: kind.model,
    views,
    texture: request.texture,
  }
  if (request.texture) fields.face_count = request.face_count
  if (Object.keys(views).length === 0 && request.text !== undefined) fields.text = normalizePrompt(request.text)
  if (request.mesh) fields.mesh = sha256(request.mesh)
  else {
    for (const name of SHAPE_FIELDS) fields[name] = request[name]
    for (const name of PIPELINE_FIELDS) if (request[name] !== undefined) fields[name] = request[name]
  }
  return fields
}

/** The cache key of a request in this protocol: SHA-256 over what the generator reads of it. */
export async function hunyuanKey(
  request: HunyuanRequest,
  generator: Generator,
  kind: ServerKind | undefined,
  digester: PixelDigester,
): Promise<string> {
  const fields = await keyedFields(request, generator, kind, (bytes) => digester.digest(bytes))
  return sha256(canonicalJson({ v: 'hunyuan-api/2', backend: generator.id, ...fields }))
}
