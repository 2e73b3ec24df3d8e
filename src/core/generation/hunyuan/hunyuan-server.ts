import type { BackendState, ServerInfo, ServerSource } from '../../../shared/contract'
import { AppError, CancelledError } from '../../../shared/errors'
import { type LaunchFlags, modelFromFlags } from '../../../shared/models'
import { INSTANCE_ID, VIA_HEADER, viaContext } from '../../instance'
import { sha256 } from '../../sha256'
import type { GeneratedModel, GenerateOptions, GenerateProgress, GeneratorInput, RemoteJob } from '../generator'
import { assertGlb } from '../glb-check'
import {
  ERROR_BODY_BYTES,
  PROBE_BODY_BYTES,
  parseJson,
  partialReason,
  readCapped,
  readJsonCapped,
  refuseRedirect,
  shortReason,
} from './bounded-answer'
import {
  clamp,
  DIALECTS,
  type Dialect,
  type FieldLimits,
  type HunyuanVariant,
  LIMITS_2_1,
  type Params,
} from './dialects'

/**
 * One Hunyuan3D api_server (2.0 or 2.1), as it really behaves:
 * - its /generate holds the server's only event loop for the whole generation, so while one
 *   of our jobs runs there it is busy, never probed (the probe would wait behind the job);
 * - a probe that times out on a connection the server accepted means busy (another client's
 *   job holds it), not down; unreachable is a refused connection, a failed name lookup or an
 *   answer that is not the protocol;
 * - 2.1 answers GET /health and names its validated fields in /openapi.json; 2.0 has
 *   neither, and answers "processing" for any uid;
 * - failures come back as {text} (both), {detail: [{loc, msg}]} (2.1's validation), or
 *   {message} (2.1's /status), and are shown in the server's own words.
 */

export type ServerState = BackendState

/** A server's id: stable for its URL, never derived from anything the user cannot see. */
export function gpuServerId(url: string): string {
  return `gpu-${sha256(url.replace(/\/+$/, '')).slice(0, 12)}`
}

export interface ServerIdentity {
  variant: HunyuanVariant
  /** Names what generates, for keys: the variant and what the server says of its version. */
  identity: string
  limits: FieldLimits
  /** Another MeshCache's Hunyuan3D drop-in, not upstream's server. */
  meshcache: boolean
  /** 2.1's /health worker_id: new at every start of its process, so a new one means a restart. */
  workerId?: string
  /** What the server says it runs (another MeshCache's drop-in names its default model; upstream names none). */
  model?: string
}

export type ServerDescription = ServerInfo

export interface HunyuanServerSettings {
  url: string
  /** Where it was set (MESHCACHE_HUNYUAN_URL, the settings, the app's own local server). */
  source: ServerSource
  /** The weights it runs, as the user named them; absent: from `launchFlags`, else upstream's default for its variant. */
  model?: string
  /** The flags it was started with (the local server): they name its weights when `model` is absent. */
  launchFlags?: LaunchFlags
  /** Jobs it runs at once. */
  concurrency: number
  /** Whether a request that does not say is textured. */
  texture: boolean
  /** 'auto' uses the variant's preference (2.1: /send + /status, 2.0: /generate). */
  mode: 'auto' | 'generate' | 'send'
  /** A job that has not finished by then fails with TIMEOUT (a failed /send job never reports). */
  deadlineMs: number
  pollMs: number
  /** Typical time a model takes, for the progress estimate. */
  expectedMs: number
  probeTimeoutMs: number
  /**
   * A job's status poll (2.1's /status) not answered within this is a silent server: the job
   * keeps polling, and its progress says since when (a hung server, a cut network).
   */
  statusTimeoutMs: number
  /** A model larger than this is refused, never read whole (MESHCACHE_MAX_MODEL_BYTES). */
  maxModelBytes: number
}

/** A textured model with 4K textures is tens of megabytes; a quarter of a gigabyte is room enough. */
export const DEFAULT_MAX_MODEL_BYTES = 256 * 1024 * 1024

export const DEFAULT_SERVER_SETTINGS: Omit<HunyuanServerSettings, 'url'> = {
  source: 'environment',
  concurrency: 1,
  texture: false,
  mode: 'auto',
  deadlineMs: 20 * 60_000,
  pollMs: 2_000,
  expectedMs: 125_000,
  probeTimeoutMs: 2_000,
  statusTimeoutMs: 10_000,
  maxModelBytes: DEFAULT_MAX_MODEL_BYTES,
}

/** How a status probe names a job that does not exist (2.0 answers "processing" for any). */
const PROBE_STATUS = '/status/meshcache-probe'

/** A /status answer carrying a model of at most `maxModelBytes`, base64 in JSON. */
const statusCap = (maxModelBytes: number): number => Math.ceil((maxModelBytes * 4) / 3) + PROBE_BODY_BYTES

type Failure = 'refused' | 'timeout'

/** A fetch that failed before any answer: a timeout (the server accepted and did not answer) or a refusal. */
function failureOf(error: unknown): Failure {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
    ? 'timeout'
    : 'refused'
}

/** The server's own reason from a failure body, in the shapes both variants use. */
export function serverReason(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const { text, message, detail } = body as { text?: unknown; message?: unknown; detail?: unknown }
  if (Array.isArray(detail)) {
    const parts = detail.flatMap((item: { loc?: unknown; msg?: unknown }) => {
      if (typeof item?.msg !== 'string') return []
      const field = Array.isArray(item.loc) ? item.loc.filter((part) => part !== 'body').join('.') : ''
      return [field ? `${field}: ${item.msg}` : item.msg]
    })
    if (parts.length > 0) return parts.join('; ')
  }
  if (typeof detail === 'string') return detail
  if (typeof message === 'string') return message
  if (typeof text === 'string') return text
  return undefined
}

/** The numeric bounds of 2.1's GenerationRequest, as its /openapi.json states them. */
function limitsFromOpenApi(document: unknown): FieldLimits | undefined {
  const schemas = (document as { components?: { schemas?: Record<string, unknown> } })?.components?.schemas
  const request = schemas?.GenerationRequest as { properties?: Record<string, Record<string, unknown>> } | undefined
  if (!request?.properties) return undefined
  const limits: FieldLimits = {}
  for (const [name, field] of Object.entries(request.properties)) {
    const min = field.minimum ?? field.exclusiveMinimum
    const max = field.maximum ?? field.exclusiveMaximum
    if (typeof min === 'number' && typeof max === 'number') limits[name] = { min, max }
  }
  return limits
}

export class HunyuanServer {
  readonly settings: HunyuanServerSettings
  private known: ServerIdentity | undefined
  private last: ServerDescription
  /** When probes began to go unanswered (undefined while the server answers). */
  private silentSince: number | undefined
  private runningJobs = 0
  /** Aborted when the server is taken out of the app: its jobs end then, not at their deadline. */
  private readonly retirement = new AbortController()
  /** When a new worker_id showed that the server restarted (it was identified again then). */
  private restartedAt: number | undefined

  readonly id: string

  constructor(settings: Partial<HunyuanServerSettings> & { url: string }) {
    this.settings = { ...DEFAULT_SERVER_SETTINGS, ...settings, url: settings.url.replace(/\/+$/, '') }
    this.id = gpuServerId(this.settings.url)
    this.last = this.info({ state: 'ready' })
  }

  get url(): string {
    return this.settings.url
  }

  /** What the server is, once it has answered. */
  get identity(): ServerIdentity | undefined {
    return this.known
  }

  get running(): number {
    return this.runningJobs
  }

  /**
   * The weights it runs, part of every key it serves: as named by the user, else by its
   * launch flags, else upstream's default for the variant that answered (unknown until then).
   */
  get model(): string | undefined {
    if (this.settings.model) return this.settings.model
    if (!this.known) return undefined
    return this.known.model ?? modelFromFlags(this.known.variant, this.settings.launchFlags)
  }

  /** Names the weights it runs now (the user restarted it with others): requests are keyed anew from here on. */
  setModel(model: string): void {
    this.settings.model = model
    this.remember({ state: this.last.state, variant: this.last.variant, detail: this.last.detail })
  }

  /** Its model, and the variant that serves it: a job keyed for one goes only to a server of the same route. */
  get route(): string | undefined {
    const { known, model } = this
    return known && model ? routeOf(known.identity, model) : undefined
  }

  /** The last known state, without asking the server. */
  get lastKnown(): ServerDescription {
    return { ...this.last, running: this.runningJobs }
  }

  /**
   * The server's state. While one of our jobs runs there it is busy and is not asked (its
   * event loop is held until the job ends); otherwise it is probed with a short timeout.
   */
  async describe(): Promise<ServerDescription> {
    if (this.runningJobs > 0 && this.known) {
      return this.remember({ state: 'busy', variant: this.known.variant, detail: this.busyDetail() })
    }
    try {
      const identity = await this.identify(AbortSignal.timeout(this.settings.probeTimeoutMs))
      this.silentSince = undefined
      return this.remember({ state: 'ready', variant: identity.variant })
    } catch (error) {
      if (error instanceof AppError) {
        this.silentSince = undefined
        return this.remember({ state: 'unreachable', detail: error.message })
      }
      if (failureOf(error) === 'timeout') {
        // Upstream's 2.0 server answers nothing while it generates for someone, and a hung one
        // answers nothing either: the list says how long, not which.
        this.silentSince ??= Date.now() - this.settings.probeTimeoutMs
        const seconds = Math.max(1, Math.round((Date.now() - this.silentSince) / 1000))
        return this.remember({
          state: 'busy',
          variant: this.known?.variant,
          detail: `The Hunyuan3D server at ${this.url} has not answered for ${seconds} s: it may be generating for another client, or hung.`,
        })
      }
      return this.remember({
        state: 'unreachable',
        detail: `The Hunyuan3D server at ${this.url} is not reachable.`,
      })
    }
  }

  /**
   * Which variant the server is: 2.1 (and MeshCache's drop-in) answer /health; 2.0 answers
   * "processing" for any uid. Remembered once known. An answer that is neither throws an
   * AppError; no answer at all rejects with the fetch's own error.
   */
  async identify(signal: AbortSignal): Promise<ServerIdentity> {
    if (this.known?.workerId !== undefined) {
      // A 2.1 server names its process in /health: a new worker_id is a restart, maybe with other flags.
      const health = await this.probe('/health', signal)
      const body = (await readJsonCapped(health, PROBE_BODY_BYTES)) as { worker_id?: unknown } | undefined
      if (health.ok && body?.worker_id === this.known.workerId) return this.known
      this.known = undefined
      this.restartedAt = Date.now()
      return this.identify(signal)
    }
    if (this.known) {
      // A known server is still checked to be up: the cheapest route it answers.
      await readCapped(await this.probe(this.known.meshcache ? '/health' : PROBE_STATUS, signal), PROBE_BODY_BYTES)
      return this.known
    }
    const health = await this.probe('/health', signal)
    const healthBody = await readJsonCapped(health, PROBE_BODY_BYTES)
    if (health.ok && (healthBody as { status?: unknown })?.status === 'healthy') {
      const body = healthBody as {
        meshcache?: unknown
        dialect?: unknown
        identity?: unknown
        worker_id?: unknown
        model?: unknown
      }
      if (body.meshcache) {
        if ((body as { instance?: unknown }).instance === INSTANCE_ID) {
          throw new AppError(
            'INVALID_REQUEST',
            `${this.url} is this MeshCache itself (its Hunyuan3D drop-in): it cannot be its own GPU server.`,
          )
        }
        return this.learn({
          variant: body.dialect === '2.1' ? '2.1' : '2.0',
          identity: typeof body.identity === 'string' ? body.identity : 'meshcache',
          limits: {},
          meshcache: true,
          ...(typeof body.model === 'string' && body.model.length <= 200 ? { model: body.model } : {}),
        })
      }
      const openapi = await this.probe('/openapi.json', signal)
        .then((response) => (response.ok ? readJsonCapped(response, PROBE_BODY_BYTES) : undefined))
        .catch(() => undefined)
      const version = (openapi as { info?: { version?: unknown } } | undefined)?.info?.version
      return this.learn({
        variant: '2.1',
        identity: `hunyuan3d-2.1${typeof version === 'string' ? `@${version}` : ''}`,
        limits: limitsFromOpenApi(openapi) ?? LIMITS_2_1,
        meshcache: false,
        workerId: typeof body.worker_id === 'string' ? body.worker_id : '',
      })
    }
    const status = await this.probe(PROBE_STATUS, signal)
    const statusBody = (await readJsonCapped(status, PROBE_BODY_BYTES)) as { status?: unknown } | undefined
    if (status.ok && typeof statusBody?.status === 'string') {
      return this.learn({ variant: '2.0', identity: 'hunyuan3d-2', limits: {}, meshcache: false })
    }
    throw new AppError('BACKEND_UNAVAILABLE', `${this.url} answered, but not like a Hunyuan3D api_server.`)
  }

  /**
   * Runs one job; the caller has chosen this server and keyed the request for its variant. A
   * job this server accepted before the app stopped (`input.remote.resume`) is collected by
   * its uid while the same server process holds it, and sent again otherwise.
   */
  async generate(input: GeneratorInput, { signal, onProgress }: GenerateOptions): Promise<GeneratedModel> {
    const { settings, url } = this
    const deadline = AbortSignal.timeout(settings.deadlineMs)
    const retired = this.retirement.signal
    const combined = AbortSignal.any([signal, deadline, retired])
    this.runningJobs++
    this.remember({ state: 'busy', variant: this.known?.variant, detail: this.busyDetail() })
    const started = Date.now()
    let stage: 'generating' | 'texturing' = 'generating'
    /** Since when the server has not answered a status poll, while it is silent. */
    let silentSince: number | undefined
    const report = (progress: Omit<GenerateProgress, 'server'>): void => onProgress?.({ ...progress, server: url })
    const tick = (): void =>
      report({
        stage,
        fraction: Math.min(0.95, 0.05 + (0.9 * (Date.now() - started)) / settings.expectedMs),
        ...(silentSince === undefined ? {} : { silentSince }),
      })
    report({ stage: 'uploading', fraction: 0.02 })
    const ticker = setInterval(tick, 1_000)
    try {
      // Identified again before each job when the server says who it is (2.1's worker id, one
      // quick /health): a restart, other weights or another variant behind the same URL is
      // seen before the job is sent in the old terms. A 2.0 server answers nothing while it
      // generates, so one known is not asked again.
      const server =
        this.known && this.known.workerId === undefined
          ? this.known
          : await this.identify(combined).catch((error: unknown) => {
              if (error instanceof AppError || combined.aborted) throw error
              throw this.unreachable()
            })
      const dialect = DIALECTS[server.variant]
      const resume = input.remote?.resume
      const held = resume?.url === url && resume.workerId === server.workerId ? resume.uid : undefined
      const mode = held
        ? 'send'
        : settings.mode === 'auto'
          ? dialect.prefersSend
            ? 'send'
            : 'generate'
          : settings.mode
      const body = (): string => JSON.stringify(this.bodyFor(input, dialect, server.limits))
      const onStage = (next: 'generating' | 'texturing' | 'silent'): void => {
        if (next === 'silent') silentSince ??= Date.now() - settings.statusTimeoutMs
        else [stage, silentSince] = [next, undefined]
        tick()
      }
      // Forwarded requests name every MeshCache they passed through, this one last.
      const via = [...(input.via ?? []), INSTANCE_ID].join(',')
      const glb =
        mode === 'generate'
          ? await this.viaGenerate(body(), combined, via)
          : await this.viaSend(held ?? (await this.send(body(), combined, input.remote, via)), combined, onStage)
      assertGlb(glb, 'The Hunyuan3D server')
      report({ stage: 'done', fraction: 1 })
      return { glb }
    } catch (error) {
      if (signal.aborted) throw new CancelledError()
      if (retired.aborted) {
        throw new AppError(
          'BACKEND_FAILED',
          `The GPU server at ${this.url} was removed while this request was on it, so it was stopped: ask again to use another generator.`,
        )
      }
      if (deadline.aborted) {
        throw new AppError(
          'TIMEOUT',
          `The Hunyuan3D server at ${this.url} did not finish within ${Math.round(settings.deadlineMs / 60_000)} minutes.`,
        )
      }
      throw error
    } finally {
      clearInterval(ticker)
      this.runningJobs--
      if (this.runningJobs === 0 && this.last.state === 'busy')
        this.remember({ state: 'ready', variant: this.known?.variant })
    }
  }

  /**
   * The body to send: a request from the Hunyuan3D protocol goes as its client wrote it (kept
   * within a 2.1 server's limits, which it validates and then ignores); the app's own request in
   * the variant's dialect. A mesh to texture goes as `mesh` with `texture: true` (2.0 only).
   */
  private bodyFor(input: GeneratorInput, dialect: Dialect, limits: FieldLimits): Params {
    const base64 = (bytes: Uint8Array): string =>
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
    const mesh: Params = input.mesh && dialect.texturesGivenMesh ? { mesh: base64(input.mesh), texture: true } : {}
    if (input.upstream) {
      const forwarded = { ...(input.upstream as Params), ...mesh }
      return dialect.variant === '2.1' ? clamp(forwarded, { ...LIMITS_2_1, ...limits }) : forwarded
    }
    return {
      image: base64(input.image),
      ...dialect.body({ quality: input.quality, seed: input.seed, texture: input.texture === true }, limits),
      ...mesh,
    }
  }

  private async viaGenerate(body: string, signal: AbortSignal, via: string): Promise<Uint8Array> {
    const response = await this.request('/generate', { method: 'POST', body, signal, via })
    const { bytes, cut } = await readCapped(response, this.settings.maxModelBytes)
    if (cut) throw this.tooLarge()
    return bytes
  }

  /** POST /send: the server accepts the job and answers its uid, which a queued job keeps to collect it after a restart. */
  private async send(body: string, signal: AbortSignal, remote: RemoteJob | undefined, via: string): Promise<string> {
    const sent = ((await readJsonCapped(
      await this.request('/send', { method: 'POST', body, signal, via }),
      PROBE_BODY_BYTES,
    )) ?? {}) as { uid?: unknown }
    if (typeof sent.uid !== 'string' || !/^[\w-]{1,100}$/.test(sent.uid)) {
      throw new AppError('BACKEND_FAILED', `The Hunyuan3D server at ${this.url} did not return a job id.`)
    }
    remote?.onSent?.({
      url: this.url,
      uid: sent.uid,
      ...(this.known?.workerId ? { workerId: this.known.workerId } : {}),
    })
    return sent.uid
  }

  /**
   * One status poll's answer (its headers), or undefined when the server accepted the poll
   * and said nothing within statusTimeoutMs. The body is then read on the job's own signal.
   */
  private async statusAnswer(uid: string, signal: AbortSignal): Promise<Response | undefined> {
    const silence = new AbortController()
    const timer = setTimeout(() => silence.abort(), this.settings.statusTimeoutMs)
    try {
      return await this.request(`/status/${uid}`, { signal: AbortSignal.any([signal, silence.signal]) })
    } catch (error) {
      if (silence.signal.aborted && !signal.aborted) return undefined
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  /** Polls /status/<uid> until the job is done or failed. */
  private async viaSend(
    uid: string,
    signal: AbortSignal,
    onStage: (stage: 'generating' | 'texturing' | 'silent') => void,
  ): Promise<Uint8Array> {
    for (;;) {
      await sleep(this.settings.pollMs, signal)
      const response = await this.statusAnswer(uid, signal)
      if (!response) {
        onStage('silent')
        continue
      }
      // A finished job's status carries its model as base64: a third larger than the model.
      const answer = await readCapped(response, statusCap(this.settings.maxModelBytes))
      if (answer.cut) throw this.tooLarge()
      const status = (parseJson(answer.bytes) ?? {}) as {
        status?: unknown
        model_base64?: unknown
      }
      switch (status.status) {
        case 'completed':
          if (typeof status.model_base64 !== 'string') {
            throw new AppError('BACKEND_FAILED', `The Hunyuan3D server at ${this.url} finished without a model.`)
          }
          return new Uint8Array(Buffer.from(status.model_base64, 'base64'))
        case 'processing':
          onStage('generating')
          break
        case 'texturing':
          onStage('texturing')
          break
        case 'error':
          throw new AppError(
            'BACKEND_FAILED',
            `The Hunyuan3D server failed: ${serverReason(status) ?? 'no reason given'}`,
          )
        default:
          throw new AppError('BACKEND_FAILED', `The Hunyuan3D server reported an unknown job status.`)
      }
    }
  }

  /** One HTTP exchange; failures become AppErrors in the server's own words. */
  private async request(
    path: string,
    init: { method?: string; body?: string; signal: AbortSignal; via?: string },
  ): Promise<Response> {
    let response: Response
    try {
      response = await fetch(`${this.url}${path}`, {
        method: init.method ?? 'GET',
        body: init.body,
        headers: {
          ...(init.body ? { 'content-type': 'application/json' } : {}),
          ...(init.via ? { [VIA_HEADER]: init.via } : {}),
        },
        signal: init.signal,
        redirect: 'manual',
      })
    } catch (error) {
      if (init.signal.aborted) throw error
      throw this.unreachable()
    }
    refuseRedirect(response, this.url)
    if (!response.ok) {
      const { bytes, cut } = await readCapped(response, ERROR_BODY_BYTES)
      const said = cut ? partialReason(bytes) : serverReason(parseJson(bytes))
      const reason = said ? shortReason(said, cut) : `HTTP ${response.status}`
      const refused = response.status === 422 ? 'refused the request' : 'failed'
      throw new AppError('BACKEND_FAILED', `The Hunyuan3D server ${refused}: ${reason}`)
    }
    return response
  }

  /** Takes the server out of service: every job on it ends at once, saying why. */
  retire(): void {
    this.retirement.abort()
  }

  private unreachable(): AppError {
    this.remember({ state: 'unreachable', detail: `Could not reach the Hunyuan3D server at ${this.url}.` })
    return new AppError('BACKEND_UNAVAILABLE', `Could not reach the Hunyuan3D server at ${this.url}.`)
  }

  private busyDetail(): string {
    return `Generating (${this.runningJobs} of our job${this.runningJobs === 1 ? '' : 's'} running there).`
  }

  /** A probe: never follows a redirect. */
  private async probe(path: string, signal: AbortSignal): Promise<Response> {
    // Named as this MeshCache's (after those the request being answered passed through): another MeshCache asked in turn stops a ring.
    const via = [...(viaContext.getStore() ?? []), INSTANCE_ID].join(',')
    const response = await fetch(`${this.url}${path}`, { signal, redirect: 'manual', headers: { [VIA_HEADER]: via } })
    refuseRedirect(response, this.url)
    return response
  }

  private tooLarge(): AppError {
    const mb = Math.round(this.settings.maxModelBytes / (1024 * 1024))
    return new AppError(
      'BACKEND_FAILED',
      `The Hunyuan3D server at ${this.url} sent a model larger than ${mb} MB, so it was refused (MESHCACHE_MAX_MODEL_BYTES sets the limit).`,
    )
  }

  private learn(identity: ServerIdentity): ServerIdentity {
    this.known = identity
    return identity
  }

  private info(description: Pick<ServerInfo, 'state' | 'variant' | 'detail'>): ServerInfo {
    const { id, url, model, known, restartedAt } = this
    const { source, concurrency, texture } = this.settings
    return {
      id,
      url,
      source,
      concurrency,
      texture,
      ...description,
      running: this.runningJobs,
      ...(model
        ? { model, modelSource: this.settings.model ? 'named' : this.settings.launchFlags ? 'flags' : 'default' }
        : {}),
      ...(known ? { seedIsSample: DIALECTS[known.variant].seedIsSample } : {}),
      ...(restartedAt !== undefined ? { restartedAt } : {}),
    }
  }

  private remember(description: Pick<ServerInfo, 'state' | 'variant' | 'detail'>): ServerDescription {
    this.last = this.info(description)
    return this.last
  }
}

/** What a job keyed for a server is routed by: the server's identity (variant and version) and its model. */
export function routeOf(identity: string, model: string): string {
  return `${identity} | ${model}`
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
