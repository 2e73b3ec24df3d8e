/**
 * The preload: exposes exactly the contract's operations and event subscriptions as
 * `window.api`, nothing else. Failures arrive as plain `{ code, message }` data and are
 * rethrown here with the code carried in the message (contextBridge keeps only messages).
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron'
import { CHANNELS, EVENTS, electronModelUrl, type InvokeOperation, type IpcResult } from '../shared/channels'
import type { Api } from '../shared/contract'
import { type ErrorPayload, encodeErrorMessage } from '../shared/errors'

async function invoke<T>(op: InvokeOperation, ...args: unknown[]): Promise<T> {
  const result = (await ipcRenderer.invoke(CHANNELS[op], ...args)) as IpcResult<T>
  if (!result.ok) throw new Error(encodeErrorMessage(result.error as ErrorPayload))
  return result.value
}

function subscribe<T>(channel: string, listener: (payload: T) => void): () => void {
  const handler = (_event: IpcRendererEvent, payload: T): void => listener(payload)
  ipcRenderer.on(channel, handler)
  return () => {
    ipcRenderer.removeListener(channel, handler)
  }
}

const api: Api = {
  generate: (request) => invoke('generate', request),
  cancel: (requestId) => invoke('cancel', requestId),
  stats: () => invoke('stats'),
  entries: (query) => invoke('entries', query),
  deleteEntry: (key) => invoke('deleteEntry', key),
  clear: () => invoke('clear'),
  getConfig: () => invoke('getConfig'),
  setConfig: (config) => invoke('setConfig', config),
  warm: (requests) => invoke('warm', requests),
  backends: () => invoke('backends'),
  saveModel: (key, suggestedName) => invoke('saveModel', key, suggestedName),
  modelUrl: electronModelUrl,
  onProgress: (listener) => subscribe(EVENTS.progress, listener),
  onCacheChanged: (listener) => subscribe(EVENTS.cacheChanged, listener),
}

contextBridge.exposeInMainWorld('api', api)
