import { parseResourcePath } from '../shared/addresses'

/** Where the protocol finds what it serves (the service). */
export interface ResourceSource {
  model(key: string): Promise<Uint8Array | undefined>
  thumbnail(key: string): Promise<Uint8Array | undefined>
}

const CONTENT_TYPE = { model: 'model/gltf-binary', thumbnail: 'image/webp' } as const

/**
 * Serves `meshcache://app/models/<key>.glb` and `.../thumbnails/<key>.webp` straight from the
 * tiers, so model bytes never travel through IPC. Only exact resource paths with a 64-hex
 * key are answered; no file path is ever built from the URL.
 */
export async function handleResourceRequest(
  source: ResourceSource,
  request: { url: string; method: string },
): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('method not allowed', { status: 405 })
  let url: URL
  try {
    url = new URL(request.url)
  } catch {
    return new Response('bad url', { status: 400 })
  }
  const resource = url.host === 'app' ? parseResourcePath(url.pathname) : undefined
  const bytes = resource ? await source[resource.kind](resource.key) : undefined
  if (!resource || !bytes) return new Response('not found', { status: 404 })
  return new Response(
    request.method === 'HEAD' ? null : new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength),
    {
      headers: {
        'content-type': CONTENT_TYPE[resource.kind],
        'content-length': String(bytes.byteLength),
        'cache-control': 'private, max-age=31536000, immutable',
        'access-control-allow-origin': '*',
      },
    },
  )
}
