import { appAddresses } from '../../../shared/addresses'
import { encodeBase64 } from '../../../shared/base64'
import { STOPPED_LOCAL_SERVER } from '../../../shared/contract'
import { AppError, isErrorPayload } from '../../../shared/errors'
import { type ExportFormat, exportBaseName } from '../../../shared/export-formats'
import {
  type Api,
  EVENT_NAMES,
  type EventName,
  OPERATION_NAMES,
  OPERATIONS,
  type OperationName,
  SERVICE_EVENT_NAMES,
} from '../../../shared/operations'

type Listener = (payload: unknown) => void

export interface HttpApiOptions {
  /** The host's origin; the page's own when empty. */
  base?: string
  fetch?: typeof fetch
  /** The EventSource class (the browser's; a library's in Node). */
  EventSource?: new (
    url: string,
  ) => EventSource
  /** Saves a model where the user chooses: the browser's download by default. */
  download?: (url: string, fileName: string) => void
}

/**
 * Binary fields travel as base64 text in JSON. A picked picture is sent more than once (the
 * similar-picture check, then Generate, then again): it is encoded once.
 */
const encoded = new WeakMap<Uint8Array, string>()
function toJson(input: unknown): string {
  return JSON.stringify(input ?? {}, (_key, value: unknown) => {
    if (!(value instanceof Uint8Array)) return value
    let text = encoded.get(value)
    if (text === undefined) {
      text = encodeBase64(value)
      encoded.set(value, text)
    }
    return text
  })
}

function browserDownload(url: string, fileName: string): void {
  const link = document.createElement('a')
  link.href = url
  link.download = fileName
  document.body.append(link)
  link.click()
  link.remove()
}

/** The request for one operation: its route with `:name` segments filled, a query or a JSON body. */
function requestFor(name: OperationName, input: unknown): { method: string; path: string; body?: string } {
  const route = OPERATIONS[name].http
  if (!route) throw new AppError('INTERNAL', `${name} is not available over HTTP.`)
  const fields = { ...((input ?? {}) as Record<string, unknown>) }
  const path = route.path.replace(/:(\w+)/g, (_match, field: string) => {
    const value = encodeURIComponent(String(fields[field] ?? ''))
    delete fields[field]
    return value
  })
  if (route.method === 'GET' || route.method === 'DELETE') {
    const query = new URLSearchParams()
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) query.set(k, String(v))
    const text = query.toString()
    return { method: route.method, path: text ? `${path}?${text}` : path }
  }
  return { method: route.method, path, body: toJson(fields) }
}

/**
 * The Api over HTTP, for the browser host: every operation derived from the operation table
 * (its route and argument), events from one shared server-sent event stream.
 */
export function createHttpApi(options: HttpApiOptions = {}): Api {
  const base = options.base ?? ''
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))
  const listeners = new Map<EventName, Set<Listener>>(EVENT_NAMES.map((name) => [name, new Set()]))
  let source: EventSource | undefined

  const call = async (name: OperationName, input: unknown): Promise<unknown> => {
    const { method, path, body } = requestFor(name, input)
    let response: Response
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body,
      })
    } catch {
      throw new AppError('BACKEND_UNAVAILABLE', 'MeshCache is not reachable. Is the app still running?')
    }
    const payload: unknown = await response.json().catch(() => undefined)
    if (response.ok) return payload
    if (isErrorPayload(payload)) throw new AppError(payload.code, payload.message)
    throw new AppError('INTERNAL', `MeshCache answered with HTTP ${response.status}.`)
  }

  const calls: Record<string, (input?: unknown) => Promise<unknown>> = {}
  for (const name of OPERATION_NAMES) calls[name] = (input) => call(name, input)
  // Saving is the browser's own download of the model's address, in the asked format: an
  // OBJ's MTL and texture follow it, named alike so that its references hold.
  calls.saveModel = async (input) => {
    const { key, name, format = 'glb' } = input as { key: string; name: string; format?: ExportFormat }
    const download = options.download ?? browserDownload
    const fileName = exportBaseName(name)
    const at = (extension: string): string =>
      extension === 'glb'
        ? `${base}${appAddresses('model', key)}`
        : `${base}/models/${key}.${extension}?name=${encodeURIComponent(fileName)}`
    download(at(format), `${fileName}.${format}`)
    if (format !== 'obj') return { saved: true }
    const mtl = await doFetch(at('mtl'), { credentials: 'same-origin' })
    if (!mtl.ok) return { saved: true }
    download(at('mtl'), `${fileName}.mtl`)
    const texture = /^map_Kd .*\.(png|jpg)$/m.exec(await mtl.text())?.[1]
    if (texture) download(at(texture), `${fileName}.${texture}`)
    return { saved: true }
  }
  // The browser host has no start-up screen (it does not listen unless its service opened) and no shell.
  calls.appStatus = async () => ({ startupError: null, desktop: false })
  const desktopOnly = async (): Promise<never> => {
    throw new AppError(
      'INVALID_REQUEST',
      'Only the desktop app has a data folder, a log file, a menu and a local server.',
    )
  }
  calls.desktop = desktopOnly
  calls.startLocalServer = desktopOnly
  calls.stopLocalServer = desktopOnly
  calls.localServer = async () => STOPPED_LOCAL_SERVER

  const subscribe = (event: EventName, listener: Listener): (() => void) => {
    if (!source) {
      const Source = options.EventSource ?? EventSource
      source = new Source(`${base}/api/events`)
      for (const name of SERVICE_EVENT_NAMES) {
        source.addEventListener(name, (message) => {
          const payload: unknown = JSON.parse((message as MessageEvent<string>).data)
          for (const each of listeners.get(name) ?? []) each(payload)
        })
      }
    }
    listeners.get(event)?.add(listener)
    return () => {
      listeners.get(event)?.delete(listener)
    }
  }

  return {
    ...calls,
    modelUrl: (key: string) => `${base}${appAddresses('model', key)}`,
    subscribe,
  } as Api
}
