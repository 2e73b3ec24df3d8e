import type {
  Api,
  BackendInfo,
  CacheChangedEvent,
  CacheConfig,
  ClearResult,
  EntriesPage,
  GenerateRequest,
  GenerateResult,
  ProgressEvent,
  ServiceStats,
  WarmResult,
} from '../../../shared/contract'
import { AppError, isErrorPayload } from '../../../shared/errors'

/** Base64 without blowing the call stack on large files. */
export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  const chunk = 0x8000
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk))
  }
  return btoa(binary)
}

function encodeRequest(request: GenerateRequest): Record<string, unknown> {
  return { ...request, image: toBase64(request.image) }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new AppError('BACKEND_UNAVAILABLE', 'MeshCache is not reachable. Is the app still running?')
  }
  const payload: unknown = await response.json().catch(() => undefined)
  if (!response.ok) {
    if (isErrorPayload(payload)) throw new AppError(payload.code, payload.message)
    throw new AppError('INTERNAL', `MeshCache answered with HTTP ${response.status}.`)
  }
  return payload as T
}

type Listener<T> = (event: T) => void

/**
 * The Api over HTTP, for the browser host: the same operations as window.api in Electron,
 * with progress and cache changes from one shared server-sent event stream.
 */
export function createHttpApi(): Api {
  const progress = new Set<Listener<ProgressEvent>>()
  const changes = new Set<Listener<CacheChangedEvent>>()
  let source: EventSource | undefined
  const ensureStream = (): void => {
    if (source) return
    source = new EventSource('/api/events')
    source.addEventListener('progress', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as ProgressEvent
      for (const listener of progress) listener(event)
    })
    source.addEventListener('cache-changed', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as CacheChangedEvent
      for (const listener of changes) listener(event)
    })
  }
  const subscribe = <T>(set: Set<Listener<T>>, listener: Listener<T>): (() => void) => {
    ensureStream()
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }

  return {
    generate: (request) => call<GenerateResult>('POST', '/api/generate-3d-cached', encodeRequest(request)),
    cancel: async (requestId) =>
      (await call<{ cancelled: boolean }>('POST', `/api/requests/${encodeURIComponent(requestId)}/cancel`, {}))
        .cancelled,
    stats: () => call<ServiceStats>('GET', '/api/cache/stats'),
    entries: (query = {}) => {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v))
      return call<EntriesPage>('GET', `/api/cache/entries?${params}`)
    },
    deleteEntry: async (key) => {
      try {
        await call('DELETE', `/api/cache/entries/${encodeURIComponent(key)}`)
        return true
      } catch (error) {
        if (error instanceof AppError && error.code === 'NOT_FOUND') return false
        throw error
      }
    },
    clear: (scope = 'all') => call<ClearResult>('POST', '/api/cache/clear', { scope }),
    getConfig: () => call<CacheConfig>('GET', '/api/cache/config'),
    setConfig: (config) => call<CacheConfig>('POST', '/api/cache/config', config),
    warm: (requests) => call<WarmResult>('POST', '/api/cache/warm', { requests: requests.map(encodeRequest) }),
    backends: () => call<BackendInfo[]>('GET', '/api/backends'),
    saveModel: async (key, suggestedName) => {
      // The browser's own download: the user picks the place (or it goes to Downloads).
      const link = document.createElement('a')
      link.href = `/models/${key}.glb`
      link.download = suggestedName.endsWith('.glb') ? suggestedName : `${suggestedName}.glb`
      document.body.append(link)
      link.click()
      link.remove()
      return true
    },
    modelUrl: (key) => `/models/${key}.glb`,
    onProgress: (listener) => subscribe(progress, listener),
    onCacheChanged: (listener) => subscribe(changes, listener),
  }
}
