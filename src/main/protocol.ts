import { MODEL_SCHEME } from '../shared/channels'
import type { ModelService } from './service'

const MODEL_PATH = /^\/([0-9a-f]{64})(?:\.glb)?$/

/**
 * Serves `meshcache://model/<key>` straight from the cache, so model bytes never travel
 * through IPC. The key must be 64 hex characters; no file path is ever built from the URL.
 */
export async function handleModelRequest(
  service: Pick<ModelService, 'model'>,
  request: { url: string; method: string },
): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('method not allowed', { status: 405 })
  let url: URL
  try {
    url = new URL(request.url)
  } catch {
    return new Response('bad url', { status: 400 })
  }
  const match = url.protocol === `${MODEL_SCHEME}:` && url.host === 'model' ? MODEL_PATH.exec(url.pathname) : null
  const bytes = match ? await service.model(match[1]) : undefined
  if (!bytes) return new Response('no such model', { status: 404 })
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(bytes), {
    headers: {
      'content-type': 'model/gltf-binary',
      'content-length': String(bytes.byteLength),
      'cache-control': 'private, max-age=31536000, immutable',
      'access-control-allow-origin': '*',
    },
  })
}
