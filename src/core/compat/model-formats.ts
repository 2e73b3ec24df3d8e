import { CONTENT_TYPES, exportModel } from '../export/model-export'

/**
 * The model formats Hunyuan3D-2's /generate answers (`type`, any format trimesh writes; its
 * clients use these four). The conversion itself is the app's one export module.
 */
export const MODEL_TYPES = ['glb', 'obj', 'ply', 'stl'] as const
export type ModelType = (typeof MODEL_TYPES)[number]

export const MODEL_CONTENT_TYPES = Object.fromEntries(MODEL_TYPES.map((type) => [type, CONTENT_TYPES[type]])) as Record<
  ModelType,
  string
>

/** The model in the asked format, as one file (an OBJ without its MTL: the drop-in answers one file). */
export async function convertModel(glb: Uint8Array, type: ModelType): Promise<Uint8Array> {
  const [model] = await exportModel(glb, type, 'model', { withTexture: false })
  return (model as { bytes: Uint8Array }).bytes
}
