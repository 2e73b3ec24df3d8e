import { z } from 'zod'
import { CHANNELS, EVENTS, type InvokeOperation, type IpcResult } from '../shared/channels'
import type { CacheChangedEvent, ProgressEvent } from '../shared/contract'
import { AppError, toErrorPayload } from '../shared/errors'
import { saveModelSchema } from '../shared/schemas'
import type { ModelService } from './service'

/** The part of Electron's IpcMainInvokeEvent these handlers read. */
export interface InvokeEventLike {
  senderFrame: { url: string } | null
}

/** The part of Electron's ipcMain used here, so a fake can stand in for it in tests. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void
  removeHandler(channel: string): void
}

export interface IpcDependencies {
  ipcMain: IpcMainLike
  service: ModelService
  /** True only for the app's own page (file:// of out/renderer, or the dev server). */
  isTrustedUrl: (url: string) => boolean
  /** Asks the user where to save, writes the file; false when the user cancels. */
  saveFile: (bytes: Uint8Array, suggestedName: string) => Promise<boolean>
}

const none = z.tuple([])
const one = z.tuple([z.unknown()])
const optionalOne = z.tuple([z.unknown().optional()])

/** Argument shapes per operation; the payloads inside are validated by the service's schemas. */
const ARGUMENTS: Record<InvokeOperation, z.ZodType<unknown[]>> = {
  generate: one,
  cancel: one,
  stats: none,
  entries: optionalOne,
  deleteEntry: one,
  clear: optionalOne,
  getConfig: none,
  setConfig: one,
  warm: one,
  backends: none,
  saveModel: saveModelSchema,
}

/** A file name the user's system will accept: no separators, no control characters. */
export function safeFileName(name: string): string {
  const base = name
    .replace(/[/\\:*?"<>|\p{Cc}]/gu, '_')
    .replace(/^\.+/, '')
    .slice(0, 120)
  const stem = base.length > 0 ? base : 'model'
  return stem.toLowerCase().endsWith('.glb') ? stem : `${stem}.glb`
}

/**
 * Registers one handler per contract operation. Each checks that the sender is the app's own
 * page, checks the argument shape, calls the service, and answers plain data: the value, or
 * `{ code, message }` for any failure (an Error thrown through IPC would lose its code).
 * Returns a function that removes the handlers.
 */
export function registerIpc(deps: IpcDependencies): () => void {
  const { ipcMain, service } = deps
  const operations: Record<InvokeOperation, (args: unknown[]) => unknown> = {
    generate: ([request]) => service.generate(request),
    cancel: ([requestId]) => service.cancel(requestId),
    stats: () => service.stats(),
    entries: ([query]) => service.entries(query ?? {}),
    deleteEntry: ([key]) => service.deleteEntry(key),
    clear: ([scope]) => service.clear(scope ?? 'all'),
    getConfig: () => service.getConfig(),
    setConfig: ([patch]) => service.setConfig(patch),
    warm: ([requests]) => service.warm(requests),
    backends: () => service.backends(),
    saveModel: async ([key, name]) => {
      const bytes = await service.model(key)
      if (!bytes) throw new AppError('NOT_FOUND', 'That model is no longer in the cache.')
      return deps.saveFile(bytes, safeFileName(String(name)))
    },
  }

  for (const op of Object.keys(CHANNELS) as InvokeOperation[]) {
    ipcMain.handle(CHANNELS[op], async (event, ...args): Promise<IpcResult<unknown>> => {
      try {
        const url = event.senderFrame?.url
        if (!url || !deps.isTrustedUrl(url)) throw new AppError('FORBIDDEN', 'This page may not use MeshCache.')
        const parsed = ARGUMENTS[op].safeParse(args)
        if (!parsed.success) throw new AppError('INVALID_REQUEST', `Wrong arguments for ${op}.`)
        return { ok: true, value: await operations[op](parsed.data) }
      } catch (error) {
        return { ok: false, error: toErrorPayload(error) }
      }
    })
  }
  return () => {
    for (const channel of Object.values(CHANNELS)) ipcMain.removeHandler(channel)
  }
}

/** Pushes the service's events to the window as small messages. Returns an unsubscribe function. */
export function forwardEvents(service: ModelService, send: (channel: string, payload: unknown) => void): () => void {
  const onProgress = (event: ProgressEvent): void => send(EVENTS.progress, event)
  const onChanged = (event: CacheChangedEvent): void => send(EVENTS.cacheChanged, event)
  service.events.on('progress', onProgress)
  service.events.on('cache-changed', onChanged)
  return () => {
    service.events.off('progress', onProgress)
    service.events.off('cache-changed', onChanged)
  }
}
