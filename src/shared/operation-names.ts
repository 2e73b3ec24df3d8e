/**
 * The names of the operations and events between the renderer and the app, and their IPC
 * channels: no schemas here, so the preload (which only forwards calls) carries names, not
 * validation. The operation table (operations.ts) is keyed by exactly these names.
 */

export const OPERATION_NAMES = [
  'generate',
  'similar',
  'submitJobs',
  'jobs',
  'cancelJob',
  'retryJob',
  'clearJobs',
  'cancel',
  'stats',
  'entries',
  'deleteEntry',
  'keepEntry',
  'clear',
  'getConfig',
  'setConfig',
  'policyReport',
  'warm',
  'backends',
  'addBackend',
  'removeBackend',
  'setBackendModel',
  'testBackend',
  'saveModel',
  'appStatus',
  'desktop',
  'localServer',
  'startLocalServer',
  'stopLocalServer',
] as const
export type OperationName = (typeof OPERATION_NAMES)[number]

export const EVENT_NAMES = [
  'progress',
  'cacheChanged',
  'jobsChanged',
  'openPicture',
  'menuCommand',
  'appStatus',
] as const
export type EventName = (typeof EVENT_NAMES)[number]

/** The IPC channel of an operation or an event. */
export const ipcChannel = (name: OperationName): string => `meshcache:${name}`
export const eventChannel = (name: EventName): string => `meshcache:event:${name}`
