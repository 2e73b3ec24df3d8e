import type { z } from 'zod'
import type {
  AppStatus,
  BackendInfo,
  BackendTestResult,
  CacheChangedEvent,
  CacheConfig,
  ClearResult,
  EntriesPage,
  GenerateResult,
  JobInfo,
  JobsChangedEvent,
  JobsList,
  LocalServerStatus,
  MenuCommandEvent,
  OpenPictureEvent,
  PolicyReport,
  ProgressEvent,
  ServiceStats,
  SimilarResult,
  SubmitJobsResult,
  WarmResult,
} from './contract'
import { GENERATE_BODY_LIMIT, JOBS_BODY_LIMIT, SMALL_BODY_LIMIT, WARM_BODY_LIMIT } from './limits'
import {
  EVENT_NAMES,
  type EventName,
  eventChannel,
  ipcChannel,
  OPERATION_NAMES,
  type OperationName,
} from './operation-names'
import {
  addBackendSchema,
  cacheConfigPatchSchema,
  cancelSchema,
  clearSchema,
  deleteEntrySchema,
  desktopActionSchema,
  entriesQuerySchema,
  generateRequestSchema,
  jobIdSchema,
  keepEntrySchema,
  localServerConfigSchema,
  noInputSchema,
  removeBackendSchema,
  retryJobSchema,
  saveModelSchema,
  setBackendModelSchema,
  submitJobsSchema,
  testBackendSchema,
  warmSchema,
} from './schemas'

/**
 * The one table of operations between the renderer and the app. Each row names the
 * operation, its argument schema (one object, validated once at the transport edge), its
 * result type and its HTTP route. The preload, the IPC registration, the renderer's HTTP
 * adapter and the Fastify routes are all derived from it (in the manner of VS Code's
 * ProxyChannel), so adding an operation is one row here plus one service method.
 */

interface HttpRoute {
  method: 'GET' | 'POST' | 'DELETE'
  /** `:name` segments are filled from the argument's field of that name. */
  path: string
  /** Cache management: rate-limited per client. */
  managed?: true
  bodyLimit?: number
  /**
   * Success status; 200 when absent. 202: the answer never waits for a generation, so a
   * large body keeps its parsing place until answered (see heldUntilAnswered).
   */
  status?: number
}

export interface OperationSpec<Input extends z.ZodType = z.ZodType, Result = unknown> {
  input: Input
  /** Carries the result type only (never read at run time). */
  result: Result
  /** null: not served over HTTP (the browser adapter does it itself, e.g. saving as a download). */
  http: HttpRoute | null
  /** Done by the host shell (a save dialog), not by the service. */
  shell?: true
}

/** Marks a row's result type. */
const returns = <Result>(): Result => undefined as Result

export const OPERATIONS = {
  generate: {
    input: generateRequestSchema,
    result: returns<GenerateResult>(),
    http: { method: 'POST', path: '/api/generate-3d-cached', bodyLimit: GENERATE_BODY_LIMIT },
  },
  similar: {
    input: generateRequestSchema,
    result: returns<SimilarResult>(),
    http: { method: 'POST', path: '/api/similar', bodyLimit: GENERATE_BODY_LIMIT },
  },
  submitJobs: {
    input: submitJobsSchema,
    result: returns<SubmitJobsResult>(),
    http: { method: 'POST', path: '/api/jobs', bodyLimit: JOBS_BODY_LIMIT, status: 202 },
  },
  jobs: {
    input: noInputSchema,
    result: returns<JobsList>(),
    http: { method: 'GET', path: '/api/jobs' },
  },
  cancelJob: {
    input: jobIdSchema,
    result: returns<JobInfo>(),
    http: { method: 'POST', path: '/api/jobs/:id/cancel', bodyLimit: SMALL_BODY_LIMIT },
  },
  retryJob: {
    input: retryJobSchema,
    result: returns<JobInfo>(),
    http: { method: 'POST', path: '/api/jobs/:id/retry', bodyLimit: SMALL_BODY_LIMIT },
  },
  clearJobs: {
    input: noInputSchema,
    result: returns<{ cleared: number }>(),
    http: { method: 'POST', path: '/api/jobs/clear', bodyLimit: SMALL_BODY_LIMIT },
  },
  cancel: {
    input: cancelSchema,
    result: returns<{ cancelled: boolean }>(),
    http: { method: 'POST', path: '/api/requests/:requestId/cancel', bodyLimit: SMALL_BODY_LIMIT },
  },
  stats: {
    input: noInputSchema,
    result: returns<ServiceStats>(),
    http: { method: 'GET', path: '/api/cache/stats', managed: true },
  },
  entries: {
    input: entriesQuerySchema,
    result: returns<EntriesPage>(),
    http: { method: 'GET', path: '/api/cache/entries', managed: true },
  },
  deleteEntry: {
    input: deleteEntrySchema,
    result: returns<{ deleted: true }>(),
    http: { method: 'DELETE', path: '/api/cache/entries/:key', managed: true },
  },
  keepEntry: {
    input: keepEntrySchema,
    result: returns<{ key: string; kept: boolean }>(),
    http: { method: 'POST', path: '/api/cache/entries/:key/keep', managed: true, bodyLimit: SMALL_BODY_LIMIT },
  },
  clear: {
    input: clearSchema,
    result: returns<ClearResult>(),
    http: { method: 'POST', path: '/api/cache/clear', managed: true, bodyLimit: SMALL_BODY_LIMIT },
  },
  getConfig: {
    input: noInputSchema,
    result: returns<CacheConfig>(),
    http: { method: 'GET', path: '/api/cache/config', managed: true },
  },
  setConfig: {
    input: cacheConfigPatchSchema,
    result: returns<CacheConfig>(),
    http: { method: 'POST', path: '/api/cache/config', managed: true, bodyLimit: SMALL_BODY_LIMIT },
  },
  policyReport: {
    input: noInputSchema,
    result: returns<PolicyReport>(),
    http: { method: 'GET', path: '/api/cache/policy-report', managed: true },
  },
  warm: {
    input: warmSchema,
    result: returns<WarmResult>(),
    http: { method: 'POST', path: '/api/cache/warm', managed: true, bodyLimit: WARM_BODY_LIMIT, status: 202 },
  },
  backends: {
    input: noInputSchema,
    result: returns<BackendInfo[]>(),
    http: { method: 'GET', path: '/api/backends' },
  },
  addBackend: {
    input: addBackendSchema,
    result: returns<BackendInfo[]>(),
    http: { method: 'POST', path: '/api/backends', managed: true, bodyLimit: SMALL_BODY_LIMIT },
  },
  removeBackend: {
    input: removeBackendSchema,
    result: returns<BackendInfo[]>(),
    http: { method: 'DELETE', path: '/api/backends/:id', managed: true },
  },
  setBackendModel: {
    input: setBackendModelSchema,
    result: returns<BackendInfo[]>(),
    http: { method: 'POST', path: '/api/backends/:id/model', managed: true, bodyLimit: SMALL_BODY_LIMIT },
  },
  testBackend: {
    input: testBackendSchema,
    result: returns<BackendTestResult>(),
    http: { method: 'POST', path: '/api/backends/test', managed: true, bodyLimit: SMALL_BODY_LIMIT },
  },
  saveModel: {
    input: saveModelSchema,
    result: returns<{ saved: boolean }>(),
    http: null,
    shell: true,
  },
  appStatus: {
    input: noInputSchema,
    result: returns<AppStatus>(),
    http: null,
    shell: true,
  },
  desktop: {
    input: desktopActionSchema,
    result: returns<{ done: boolean }>(),
    http: null,
    shell: true,
  },
  // The desktop app starts programs on its own machine; the browser host, reachable over the
  // network, never does.
  localServer: { input: noInputSchema, result: returns<LocalServerStatus>(), http: null, shell: true },
  startLocalServer: {
    input: localServerConfigSchema,
    result: returns<LocalServerStatus>(),
    http: null,
    shell: true,
  },
  stopLocalServer: { input: noInputSchema, result: returns<LocalServerStatus>(), http: null, shell: true },
} as const satisfies { [K in OperationName]: OperationSpec }

/** Events the app pushes to the renderer: over IPC as messages, over HTTP as server-sent events. */
export const EVENTS = {
  progress: returns<ProgressEvent>(),
  cacheChanged: returns<CacheChangedEvent>(),
  jobsChanged: returns<JobsChangedEvent>(),
  /** From the desktop shell only: a picture to use, a menu item to run. */
  openPicture: returns<OpenPictureEvent>(),
  menuCommand: returns<MenuCommandEvent>(),
  /** Pushed when the app's status changes after the window asked (a start-up that failed). */
  appStatus: returns<AppStatus>(),
} satisfies { [E in EventName]: unknown }

type Operations = typeof OPERATIONS
export type OperationInput<K extends OperationName> = z.input<Operations[K]['input']>
export type ParsedInput<K extends OperationName> = z.output<Operations[K]['input']>
export type OperationResult<K extends OperationName> = Operations[K]['result']
export type EventPayload<E extends EventName> = (typeof EVENTS)[E]
export { EVENT_NAMES, type EventName, eventChannel, ipcChannel, OPERATION_NAMES, type OperationName }

type ShellOperationName = { [K in OperationName]: Operations[K] extends { shell: true } ? K : never }[OperationName]
export type ServiceOperationName = Exclude<OperationName, ShellOperationName>
/** The operations the service answers (all but the shell's own). */
export const SERVICE_OPERATION_NAMES = OPERATION_NAMES.filter(
  (name): name is ServiceOperationName => !('shell' in OPERATIONS[name]),
)
/** Events only the desktop shell sends (to its window); the service never emits them. */
export const SHELL_EVENT_NAMES: readonly EventName[] = ['openPicture', 'menuCommand', 'appStatus']
/** The service's events: what both transports carry (IPC messages, server-sent events). */
export const SERVICE_EVENT_NAMES = EVENT_NAMES.filter((name) => !SHELL_EVENT_NAMES.includes(name))

/** Argument lists: optional when the schema accepts undefined. */
type Arguments<K extends OperationName> =
  undefined extends OperationInput<K> ? [input?: OperationInput<K>] : [input: OperationInput<K>]

/** Every operation as a method: what the renderer calls. */
export type ApiCalls = { [K in OperationName]: (...args: Arguments<K>) => Promise<OperationResult<K>> }

/**
 * What the renderer talks to: `window.api` from the preload in Electron, the HTTP adapter in
 * the browser. Every method rejects with an error whose payload `toErrorPayload` reads back.
 */
export interface Api extends ApiCalls {
  /** Where a model's GLB can be loaded from in this transport. */
  modelUrl(key: string): string
  /** Subscribes to an event stream; returns the function that unsubscribes. */
  subscribe<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void
}

/** Per-call facts a transport knows: the caller's abort (a closed connection, a cancel). */
export interface CallContext {
  signal?: AbortSignal
}

/** What serves the operations: each receives its already-validated argument. */
export type OperationHandlers = {
  [K in OperationName]: (input: ParsedInput<K>, context: CallContext) => Promise<OperationResult<K>>
}

/** What the service answers; the shell adds its own operations (`saveModel`, `appStatus`, `desktop`). */
export type ServiceOperations = Pick<OperationHandlers, ServiceOperationName>
