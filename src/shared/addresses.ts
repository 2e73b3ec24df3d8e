/**
 * Where model bytes and thumbnails are fetched from: `/models/<key>.glb` and
 * `/thumbnails/<key>.webp`, relative to the page's own origin. Both hosts serve the renderer
 * and its resources from one origin (the browser host's, or `meshcache://app` in Electron,
 * where bytes never travel through IPC), so one grammar of origin-relative paths serves both.
 */

/** A model key: SHA-256 of the canonical request, 64 lowercase hex characters. */
export const MODEL_KEY_PATTERN = /^[0-9a-f]{64}$/

/** The privileged scheme that serves the Electron renderer, its models and thumbnails. */
export const APP_SCHEME = 'meshcache'
/** The host of that scheme: the app's origin is `meshcache://app`. */
export const APP_HOST = 'app'

/** A job's id: 32 lowercase hex characters. */
export const JOB_ID_PATTERN = /^[0-9a-f]{32}$/

/** A model, a model's thumbnail, or a job's picture (small, for the jobs list). */
export type ResourceKind = 'model' | 'thumbnail' | 'picture'

const RESOURCE_PATH = /^\/(models|thumbnails|pictures)\/([0-9a-f]{32}|[0-9a-f]{64})\.(glb|webp)$/
const FOLDER: Record<ResourceKind, { folder: string; extension: string; id: RegExp }> = {
  model: { folder: 'models', extension: 'glb', id: MODEL_KEY_PATTERN },
  thumbnail: { folder: 'thumbnails', extension: 'webp', id: MODEL_KEY_PATTERN },
  picture: { folder: 'pictures', extension: 'webp', id: JOB_ID_PATTERN },
}
const KIND_OF_FOLDER = new Map(Object.entries(FOLDER).map(([kind, { folder }]) => [folder, kind as ResourceKind]))

export function resourcePath(kind: ResourceKind, key: string): string {
  const { folder, extension } = FOLDER[kind]
  return `/${folder}/${key}.${extension}`
}

/** Reads a resource path back; undefined for anything that is not exactly one of ours. */
export function parseResourcePath(path: string): { kind: ResourceKind; key: string } | undefined {
  const match = RESOURCE_PATH.exec(path)
  const kind = match ? KIND_OF_FOLDER.get(match[1] as string) : undefined
  if (!match || !kind) return undefined
  const { extension, id } = FOLDER[kind]
  return extension === match[3] && id.test(match[2] as string) ? { kind, key: match[2] as string } : undefined
}

/** How one transport addresses stored resources. */
export type Addresses = (kind: ResourceKind, key: string) => string

export const appAddresses: Addresses = resourcePath

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
