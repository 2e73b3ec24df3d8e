/**
 * Which weights made a model. A Hunyuan3D api_server never says which weights it loaded
 * (2.0 has no such route; 2.1's /health names only a worker id that is new at each restart),
 * so the model is the user's to name, or the launch flags' for a server MeshCache starts. The
 * name is part of every key of the requests that server serves: other weights are other models.
 */

/** Tencent's published shape weights, by the names their model cards use. */
export const PUBLISHED_MODELS = [
  'Hunyuan3D-2',
  'Hunyuan3D-2mini',
  'Hunyuan3D-2mini-Turbo',
  'Hunyuan3D-2mv',
  'Hunyuan3D-2.1',
] as const

export const MAX_MODEL_NAME_CHARS = 120

/** What a typed model name may hold: printable text without control characters. */
export const MODEL_NAME_PATTERN = /^[^\p{Cc}\p{Cf}]+$/u

/** The builtin generator's "model": its algorithm and version. */
export const builtinModelName = (version: string): string => `MeshCache builtin ${version}`

/** A typed name with a published one's spelling when it is one of them (case aside). */
export function canonicalModelName(name: string): string {
  const trimmed = name.normalize('NFC').trim().replace(/\s+/gu, ' ')
  return PUBLISHED_MODELS.find((published) => published.toLowerCase() === trimmed.toLowerCase()) ?? trimmed
}

/** The api_server.py flags that choose weights or change the output (upstream's names). */
export interface LaunchFlags {
  /** --model_path */
  modelPath?: string
  /** --subfolder */
  subfolder?: string
  /** --tex_model_path (2.0: the texturing weights) */
  texModelPath?: string
  /** --mv (2.0 forks: the multi-view model) */
  multiView?: boolean
  /** --enable_flashvdm (2.1) */
  flashvdm?: boolean
  /** --mc_algo (2.1) */
  mcAlgo?: string
}

/**
 * Upstream's defaults, from api_server.py's argparse and main (Hunyuan3D-2: model_path
 * tencent/Hunyuan3D-2mini, subfolder hunyuan3d-dit-v2-mini-turbo, or with --mv
 * tencent/Hunyuan3D-2mv and hunyuan3d-dit-v2-mv; tex_model_path tencent/Hunyuan3D-2; flashvdm
 * with mc_algo 'mc' fixed in ModelWorker. Hunyuan3D-2.1: tencent/Hunyuan3D-2.1 and
 * hunyuan3d-dit-v2-1, mc_algo 'mc', flashvdm off).
 */
const DEFAULT_TEXTURE_WEIGHTS = 'tencent/Hunyuan3D-2'

/** Weights folders of the published models (`repository/subfolder`). */
const PUBLISHED_FOLDERS: Record<string, (typeof PUBLISHED_MODELS)[number]> = {
  'tencent/Hunyuan3D-2/hunyuan3d-dit-v2-0': 'Hunyuan3D-2',
  'tencent/Hunyuan3D-2mini/hunyuan3d-dit-v2-mini': 'Hunyuan3D-2mini',
  'tencent/Hunyuan3D-2mini/hunyuan3d-dit-v2-mini-turbo': 'Hunyuan3D-2mini-Turbo',
  'tencent/Hunyuan3D-2mv/hunyuan3d-dit-v2-mv': 'Hunyuan3D-2mv',
  'tencent/Hunyuan3D-2.1/hunyuan3d-dit-v2-1': 'Hunyuan3D-2.1',
}

/**
 * The model a server of this variant runs when started with these flags: a published name
 * where the weights are one, else `model_path/subfolder`, with what else changes the output
 * after it. No flags at all: upstream's default for the variant.
 */
export function modelFromFlags(variant: '2.0' | '2.1', flags: LaunchFlags = {}): string {
  const path = flags.modelPath?.trim() || (variant === '2.1' ? 'tencent/Hunyuan3D-2.1' : 'tencent/Hunyuan3D-2mini')
  let weights = path
  let subfolder = flags.subfolder?.trim()
  if (variant === '2.0' && flags.multiView) {
    if (path === 'tencent/Hunyuan3D-2mini') weights = 'tencent/Hunyuan3D-2mv'
    subfolder ||= 'hunyuan3d-dit-v2-mv'
  }
  subfolder ||= variant === '2.1' ? 'hunyuan3d-dit-v2-1' : 'hunyuan3d-dit-v2-mini-turbo'
  const folder = `${weights.replace(/\/+$/, '')}/${subfolder}`
  const extras: string[] = []
  const texture = flags.texModelPath?.trim()
  if (variant === '2.0' && texture && texture !== DEFAULT_TEXTURE_WEIGHTS) extras.push(`texture ${texture}`)
  if (variant === '2.1' && flags.flashvdm) extras.push('flashvdm')
  const mcAlgo = flags.mcAlgo?.trim()
  if (variant === '2.1' && mcAlgo && mcAlgo !== 'mc') extras.push(`mc_algo ${mcAlgo}`)
  const name = PUBLISHED_FOLDERS[folder] ?? folder
  return extras.length > 0 ? `${name} (${extras.join(', ')})` : name
}
