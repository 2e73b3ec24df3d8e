import type { Quality } from '../../../shared/contract'
import { AppError, CancelledError } from '../../../shared/errors'
import type { GeneratedModel, GenerateOptions, Generator, GeneratorDescription, GeneratorInput } from '../generator'
import { assertGlb } from '../glb-check'

/**
 * Client for Hunyuan3D-2's api_server.py. Its protocol, from its source:
 * - POST /generate (JSON) answers the model file's bytes;
 * - POST /send (JSON) answers {"uid"}; GET /status/{uid} answers {"status":"processing"} or
 *   {"status":"completed","model_base64":"..."}; a failed /send job stays "processing" forever;
 * - every failure is HTTP 404 with {"text": "...", "error_code": 1};
 * - it has no queue and no de-duplication of its own (MeshCache provides both).
 */

export interface HunyuanSettings {
  url: string
  /** 'generate' waits on one request; 'send' submits and polls /status. */
  mode: 'generate' | 'send'
  /** A job that has not finished by then fails with TIMEOUT (the server never reports failed /send jobs). */
  deadlineMs: number
  pollMs: number
  /** Typical time a model takes, for the progress estimate. */
  expectedMs: number
  texture: boolean
}

export const DEFAULT_HUNYUAN_SETTINGS: Omit<HunyuanSettings, 'url'> = {
  mode: 'generate',
  deadlineMs: 10 * 60_000,
  pollMs: 2_000,
  expectedMs: 125_000,
  texture: false,
}

/** Quality resolved to the server's parameters explicitly, so the cache key names what ran. */
export const HUNYUAN_PARAMS: Record<
  Quality,
  { octree_resolution: number; num_inference_steps: number; guidance_scale: number; face_count: number }
> = {
  draft: { octree_resolution: 128, num_inference_steps: 5, guidance_scale: 5.0, face_count: 10_000 },
  standard: { octree_resolution: 256, num_inference_steps: 30, guidance_scale: 5.0, face_count: 40_000 },
  high: { octree_resolution: 384, num_inference_steps: 50, guidance_scale: 5.0, face_count: 100_000 },
}

const PROBE_TIMEOUT_MS = 2_000

export class HunyuanGenerator implements Generator {
  readonly id = 'hunyuan3d-2'
  readonly version = '2'
  readonly acceptsTextAndMesh = true
  private readonly settings: HunyuanSettings

  constructor(settings: Partial<HunyuanSettings> & { url: string }) {
    this.settings = { ...DEFAULT_HUNYUAN_SETTINGS, ...settings, url: settings.url.replace(/\/+$/, '') }
  }

  get url(): string {
    return this.settings.url
  }

  identity(quality: Quality): Record<string, string | number | boolean> {
    return { ...HUNYUAN_PARAMS[quality], texture: this.settings.texture, type: 'glb' }
  }

  /** The server has no health route; an unknown job's status answers "processing" when it is up. */
  async describe(): Promise<GeneratorDescription> {
    const base = { name: `Hunyuan3D-2 at ${this.settings.url}`, version: '2', gpu: true }
    try {
      const response = await fetch(`${this.settings.url}/status/meshcache-probe`, {
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      })
      const body = (await response.json()) as { status?: unknown }
      if (response.ok && typeof body.status === 'string') return { ...base, available: true }
      return { ...base, available: false, detail: 'The server answered, but not like a Hunyuan3D-2 api_server.' }
    } catch {
      return { ...base, available: false, detail: `The Hunyuan3D-2 server at ${this.settings.url} is not reachable.` }
    }
  }

  async generate(input: GeneratorInput, { signal, onProgress }: GenerateOptions): Promise<GeneratedModel> {
    const { settings } = this
    const deadline = AbortSignal.timeout(settings.deadlineMs)
    const combined = AbortSignal.any([signal, deadline])
    const started = Date.now()
    const tick = (): void =>
      onProgress?.({
        stage: 'generating',
        fraction: Math.min(0.95, 0.05 + (0.9 * (Date.now() - started)) / settings.expectedMs),
      })
    onProgress?.({ stage: 'uploading', fraction: 0.02 })
    const ticker = setInterval(tick, 1_000)
    const body = JSON.stringify(
      input.upstream ?? {
        image: Buffer.from(input.image).toString('base64'),
        ...(input.prompt ? { text: input.prompt } : {}),
        seed: input.seed,
        ...this.identity(input.quality),
      },
    )
    try {
      const glb =
        settings.mode === 'generate' ? await this.viaGenerate(body, combined) : await this.viaSend(body, combined, tick)
      assertGlb(glb, 'The Hunyuan3D-2 server')
      onProgress?.({ stage: 'done', fraction: 1 })
      return { glb }
    } catch (error) {
      if (signal.aborted) throw new CancelledError()
      if (deadline.aborted) {
        throw new AppError(
          'TIMEOUT',
          `The Hunyuan3D-2 server did not finish within ${Math.round(settings.deadlineMs / 1000)} s.`,
        )
      }
      throw error
    } finally {
      clearInterval(ticker)
    }
  }

  private async viaGenerate(body: string, signal: AbortSignal): Promise<Uint8Array> {
    const response = await this.request('/generate', { method: 'POST', body, signal })
    return new Uint8Array(await response.arrayBuffer())
  }

  private async viaSend(body: string, signal: AbortSignal, tick: () => void): Promise<Uint8Array> {
    const sent = (await (await this.request('/send', { method: 'POST', body, signal })).json()) as { uid?: unknown }
    if (typeof sent.uid !== 'string' || !/^[\w-]+$/.test(sent.uid)) {
      throw new AppError('BACKEND_FAILED', 'The Hunyuan3D-2 server did not return a job id.')
    }
    for (;;) {
      await sleep(this.settings.pollMs, signal)
      tick()
      const status = (await (await this.request(`/status/${sent.uid}`, { signal })).json()) as {
        status?: unknown
        model_base64?: unknown
      }
      if (status.status === 'completed') {
        if (typeof status.model_base64 !== 'string') {
          throw new AppError('BACKEND_FAILED', 'The Hunyuan3D-2 server finished without a model.')
        }
        return new Uint8Array(Buffer.from(status.model_base64, 'base64'))
      }
      if (status.status !== 'processing') {
        throw new AppError('BACKEND_FAILED', 'The Hunyuan3D-2 server reported an unknown job status.')
      }
    }
  }

  /** One HTTP exchange; the server's 404-with-JSON errors and network failures become AppErrors. */
  private async request(
    path: string,
    init: { method?: string; body?: string; signal: AbortSignal },
  ): Promise<Response> {
    let response: Response
    try {
      response = await fetch(`${this.settings.url}${path}`, {
        method: init.method ?? 'GET',
        body: init.body,
        headers: init.body ? { 'content-type': 'application/json' } : undefined,
        signal: init.signal,
      })
    } catch (error) {
      if (init.signal.aborted) throw error
      throw new AppError('BACKEND_UNAVAILABLE', `Could not reach the Hunyuan3D-2 server at ${this.settings.url}.`)
    }
    if (!response.ok) {
      let text = `HTTP ${response.status}`
      try {
        const failure = (await response.json()) as { text?: unknown }
        if (typeof failure.text === 'string') text = failure.text
      } catch {
        // not JSON: keep the status line
      }
      throw new AppError('BACKEND_FAILED', `The Hunyuan3D-2 server failed: ${text}`)
    }
    return response
  }
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
