import { readFile } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import { APP_HOST, parseResourcePath } from '../shared/addresses'
import { CONTENT_SECURITY_POLICY_HEADER } from '../shared/csp'

/** Where the protocol finds models, thumbnails and queued jobs' pictures (the service). */
export interface ResourceSource {
  model(key: string): Promise<Uint8Array | undefined>
  thumbnail(key: string): Promise<Uint8Array | undefined>
  picture(id: string): Promise<Uint8Array | undefined>
}

const RESOURCE_TYPES = { model: 'model/gltf-binary', thumbnail: 'image/webp', picture: 'image/webp' } as const

/** The built renderer's file types; anything else is not served. */
const FILE_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
}

const HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }

function bodyOf(bytes: Uint8Array, method: string): Uint8Array<ArrayBuffer> | null {
  return method === 'HEAD' ? null : new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * The built renderer's file for a URL path, confined to its folder: `/` is index.html; a
 * path that leaves the folder (after decoding) or names an unknown type is undefined.
 */
async function rendererFile(
  rendererDir: string,
  pathname: string,
): Promise<{ bytes: Uint8Array; type: string } | undefined> {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname === '/' ? '/index.html' : pathname)
  } catch {
    return undefined
  }
  const root = resolve(rendererDir)
  const file = resolve(root, `.${decoded}`)
  const type = FILE_TYPES[extname(file)]
  if (!file.startsWith(root + sep) || decoded.includes('\0') || !type) return undefined
  try {
    return { bytes: await readFile(file), type }
  } catch {
    return undefined
  }
}

/**
 * `protocol.handle` for `meshcache://app/`: the app's one origin. It answers the built renderer
 * (index.html with the CSP as a header too, its assets), and `/models/<key>.glb` and
 * `/thumbnails/<key>.webp` straight from the tiers, so model bytes never travel through IPC and
 * the page, models and thumbnails are same-origin (no CORS grant, no CSP scheme exception).
 * Only GET and HEAD; no file path is built from a resource URL.
 */
export async function handleAppRequest(
  source: ResourceSource | Promise<ResourceSource>,
  rendererDir: string,
  request: { url: string; method: string },
): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('method not allowed', { status: 405, headers: HEADERS })
  }
  let url: URL
  try {
    url = new URL(request.url)
  } catch {
    return new Response('bad url', { status: 400, headers: HEADERS })
  }
  if (url.host !== APP_HOST) return new Response('not found', { status: 404, headers: HEADERS })
  const resource = parseResourcePath(url.pathname)
  if (resource) {
    // A service that did not start has nothing to serve (the window shows why).
    const bytes = await Promise.resolve(source)
      .then((tiers) => tiers[resource.kind](resource.key))
      .catch(() => undefined)
    if (!bytes) return new Response('not found', { status: 404, headers: HEADERS })
    return new Response(bodyOf(bytes, request.method), {
      headers: {
        ...HEADERS,
        'content-type': RESOURCE_TYPES[resource.kind],
        'content-length': String(bytes.byteLength),
        'cache-control': 'private, max-age=31536000, immutable',
      },
    })
  }
  const file = await rendererFile(rendererDir, url.pathname)
  if (!file) return new Response('not found', { status: 404, headers: HEADERS })
  return new Response(bodyOf(file.bytes, request.method), {
    headers: {
      ...HEADERS,
      'content-type': file.type,
      'content-length': String(file.bytes.byteLength),
      'content-security-policy': CONTENT_SECURITY_POLICY_HEADER,
      'cache-control': 'no-cache',
    },
  })
}
