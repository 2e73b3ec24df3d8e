/**
 * The preload: exposes exactly the operation table's calls and events as `window.api`,
 * derived from the table (no per-operation code here). Failures arrive as plain
 * `{ code, message }` data and are rethrown with the code carried in the message, because
 * contextBridge keeps only an Error's message.
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron'
import { appAddresses } from '../shared/addresses'
import { type ErrorPayload, encodeErrorMessage } from '../shared/errors'
import { type EventName, eventChannel, ipcChannel, OPERATION_NAMES } from '../shared/operation-names'
import type { Api } from '../shared/operations'

type IpcResult = { ok: true; value: unknown } | { ok: false; error: ErrorPayload }

const calls = Object.fromEntries(
  OPERATION_NAMES.map((name) => [
    name,
    async (input?: unknown): Promise<unknown> => {
      const result = (await ipcRenderer.invoke(ipcChannel(name), input)) as IpcResult
      if (!result.ok) throw new Error(encodeErrorMessage(result.error))
      return result.value
    },
  ]),
)

const api = {
  ...calls,
  modelUrl: (key: string) => appAddresses('model', key),
  subscribe: (event: EventName, listener: (payload: unknown) => void) => {
    const handler = (_event: IpcRendererEvent, payload: unknown): void => listener(payload)
    ipcRenderer.on(eventChannel(event), handler)
    return () => {
      ipcRenderer.removeListener(eventChannel(event), handler)
    }
  },
} as Api

contextBridge.exposeInMainWorld('api', api)
