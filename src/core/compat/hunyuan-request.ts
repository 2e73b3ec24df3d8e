import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { Quality } from '../../shared/contract'
import { DEFAULT_SEED, MAX_PROMPT_CHARS, MAX_SEED, MAX_UPLOAD_BYTES } from '../../shared/limits'
import { base64BytesSchema, uploadSchema } from '../../shared/schemas'
import { canonicalJson, normalizePrompt, type PixelDigester } from '../generation/request-key'

/**
 * The request of Hunyuan3D-2's api_server.py (`/generate`, `/send`), as its clients send it:
 * the Blender add-on, the README's curl, scripts. Every field upstream reads, with upstream's
 * defaults; anything else is refused, so it can never be silently left out of the key.
 */

/** A mesh to texture (GLB, base64): at most this many bytes. */
export const MAX_MESH_BYTES = 64 * 1024 * 1024
/** A body with a mesh and four views, base64-encoded, and room for the other fields. */
export const COMPAT_BODY_LIMIT = Math.ceil(((4 * MAX_UPLOAD_BYTES + MAX_MESH_BYTES) * 4) / 3) + 1024 * 1024

/** Upstream's defaults (api_server.py): a field left out means these. */
export const UPSTREAM_DEFAULTS = {
  seed: DEFAULT_SEED,
  octree_resolution: 128,
  num_inference_steps: 5,
  guidance_scale: 5.0,
  texture: false,
  face_count: 40000,
  type: 'glb',
} as const

const meshSchema = base64BytesSchema.refine((bytes) => bytes.byteLength <= MAX_MESH_BYTES, {
  message: `mesh must be at most ${MAX_MESH_BYTES / (1024 * 1024)} MB`,
})

export const hunyuanRequestSchema = z
  .strictObject({
    image: uploadSchema.optional(),
    image_left: uploadSchema.optional(),
    image_back: uploadSchema.optional(),
    image_right: uploadSchema.optional(),
    text: z.string().max(MAX_PROMPT_CHARS, `text must be at most ${MAX_PROMPT_CHARS} characters`).optional(),
    mesh: meshSchema.optional(),
    seed: z.number().int().min(0).max(MAX_SEED).default(UPSTREAM_DEFAULTS.seed),
    octree_resolution: z.number().int().min(16).max(1024).default(UPSTREAM_DEFAULTS.octree_resolution),
    num_inference_steps: z.number().int().min(1).max(500).default(UPSTREAM_DEFAULTS.num_inference_steps),
    guidance_scale: z.number().min(0).max(100).default(UPSTREAM_DEFAULTS.guidance_scale),
    texture: z.boolean().default(UPSTREAM_DEFAULTS.texture),
    face_count: z.number().int().min(1).max(10_000_000).default(UPSTREAM_DEFAULTS.face_count),
    type: z.literal('glb', { error: 'MeshCache keeps GLB models: type must be "glb"' }).default('glb'),
  })
  .refine((request) => request.image !== undefined || request.text !== undefined, {
    message: 'give an image (base64) or a text prompt',
  })

export type HunyuanRequest = z.output<typeof hunyuanRequestSchema>

/** The builtin generator's quality for an octree resolution: ≤128 draft, ≤256 standard, above high. */
export function qualityForOctree(octreeResolution: number): Quality {
  if (octreeResolution <= 128) return 'draft'
  return octreeResolution <= 256 ? 'standard' : 'high'
}

const VIEWS = ['image', 'image_left', 'image_back', 'image_right'] as const

/**
 * The cache key of a request in this protocol: SHA-256 over every field with upstream's
 * defaults filled in (so a field left out and the same field at its default give one key),
 * pictures by their decoded pixels, a mesh by its bytes, and the backend's identity.
 */
export async function hunyuanKey(
  request: HunyuanRequest,
  backend: { id: string; identity: Record<string, string | number | boolean> },
  digester: PixelDigester,
): Promise<string> {
  const views: Record<string, string> = {}
  for (const view of VIEWS) {
    const bytes = request[view]
    if (bytes) views[view] = await digester.digest(bytes)
  }
  const { image: _i, image_left: _l, image_back: _b, image_right: _r, mesh, text, ...parameters } = request
  const description = {
    v: 'hunyuan-api/1',
    backend: backend.id,
    identity: backend.identity,
    views,
    text: text === undefined ? null : normalizePrompt(text),
    mesh: mesh ? createHash('sha256').update(mesh).digest('hex') : null,
    ...parameters,
  }
  return createHash('sha256').update(canonicalJson(description)).digest('hex')
}
