/**
 * Where model bytes and thumbnails are fetched from. Both transports use one path grammar:
 * `/models/<key>.glb` and `/thumbnails/<key>.webp`, under the browser host's origin or under
 * `meshcache://app` in Electron (bytes never travel through IPC).
 */

/** A model key: SHA-256 of the canonical request, 64 lowercase hex characters. */
export const MODEL_KEY_PATTERN = /^[0-9a-f]{64}$/

/** The privileged scheme that serves model bytes to the Electron renderer. */
export const MODEL_SCHEME = 'meshcache'

export type ResourceKind = 'model' | 'thumbnail'

const RESOURCE_PATH = /^\/(models|thumbnails)\/([0-9a-f]{64})\.(glb|webp)$/
const FOLDER: Record<ResourceKind, { folder: string; extension: string }> = {
  model: { folder: 'models', extension: 'glb' },
  thumbnail: { folder: 'thumbnails', extension: 'webp' },
}

export function resourcePath(kind: ResourceKind, key: string): string {
  const { folder, extension } = FOLDER[kind]
  return `/${folder}/${key}.${extension}`
}

/** Reads a resource path back; undefined for anything that is not exactly one of ours. */
export function parseResourcePath(path: string): { kind: ResourceKind; key: string } | undefined {
  const match = RESOURCE_PATH.exec(path)
  if (!match) return undefined
  const kind: ResourceKind = match[1] === 'models' ? 'model' : 'thumbnail'
  return FOLDER[kind].extension === match[3] ? { kind, key: match[2] as string } : undefined
}

/** How one transport addresses stored resources. */
export type Addresses = (kind: ResourceKind, key: string) => string

export const httpAddresses: Addresses = resourcePath
export const ELECTRON_ORIGIN = `${MODEL_SCHEME}://app`
export const electronAddresses: Addresses = (kind, key) => `${ELECTRON_ORIGIN}${resourcePath(kind, key)}`

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
