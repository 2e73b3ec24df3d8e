/** IPC channel names: one per Api operation, plus the two event streams. */
export const CHANNELS = {
  generate: 'meshcache:generate',
  cancel: 'meshcache:cancel',
  stats: 'meshcache:stats',
  entries: 'meshcache:entries',
  deleteEntry: 'meshcache:delete-entry',
  clear: 'meshcache:clear',
  getConfig: 'meshcache:get-config',
  setConfig: 'meshcache:set-config',
  warm: 'meshcache:warm',
  backends: 'meshcache:backends',
  saveModel: 'meshcache:save-model',
} as const

export type InvokeOperation = keyof typeof CHANNELS

export const EVENTS = {
  progress: 'meshcache:progress',
  cacheChanged: 'meshcache:cache-changed',
} as const

/** The privileged scheme that serves model bytes to the Electron renderer. */
export const MODEL_SCHEME = 'meshcache'

export function electronModelUrl(key: string): string {
  return `${MODEL_SCHEME}://model/${key}`
}

/** What every IPC handler answers: plain data, never a thrown Error (those lose their fields). */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } }
