import { dispatch, type EventSourceLike } from '../core/dispatch'
import { AppError, toErrorPayload } from '../shared/errors'
import {
  eventChannel,
  ipcChannel,
  OPERATION_NAMES,
  type OperationHandlers,
  SERVICE_EVENT_NAMES,
} from '../shared/operations'

/** The part of Electron's IpcMainInvokeEvent these handlers read. */
export interface InvokeEventLike {
  senderFrame: { url: string } | null
}

/** The part of Electron's ipcMain used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void
  removeHandler(channel: string): void
}

/** What every IPC handler answers: plain data, never a thrown Error (contextBridge keeps only messages). */
export type IpcResult = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } }

/**
 * Registers one handler per operation of the table. Each checks that the sender is the
 * app's own page, takes exactly one argument, validates it with the table's schema and
 * calls the handler; it answers the value or `{ code, message }`. Returns a function that
 * removes the handlers.
 */
export function registerIpc(
  ipcMain: IpcMainLike,
  handlers: OperationHandlers,
  isTrustedUrl: (url: string) => boolean,
): () => void {
  for (const name of OPERATION_NAMES) {
    ipcMain.handle(ipcChannel(name), async (event, ...args): Promise<IpcResult> => {
      try {
        const url = event.senderFrame?.url
        if (!url || !isTrustedUrl(url)) throw new AppError('FORBIDDEN', 'This page may not use MeshCache.')
        if (args.length > 1) throw new AppError('INVALID_REQUEST', `${name} takes one argument.`)
        return { ok: true, value: await dispatch(handlers, name, args[0], {}, true) }
      } catch (error) {
        return { ok: false, error: toErrorPayload(error) }
      }
    })
  }
  return () => {
    for (const name of OPERATION_NAMES) ipcMain.removeHandler(ipcChannel(name))
  }
}

/** Pushes every event of the table to the window as a small message. Returns an unsubscribe function. */
export function forwardEvents(source: EventSourceLike, send: (channel: string, payload: unknown) => void): () => void {
  const listeners = SERVICE_EVENT_NAMES.map((name) => {
    const listener = (payload: unknown): void => send(eventChannel(name), payload)
    source.on(name, listener)
    return [name, listener] as const
  })
  return () => {
    for (const [name, listener] of listeners) source.off(name, listener)
  }
}
