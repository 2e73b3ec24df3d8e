import { randomUUID } from 'node:crypto'
import { DEFAULT_HELD_MAX_BYTES } from '../../shared/cache-types'
import { AppError, toErrorPayload } from '../../shared/errors'
import { describeIssues } from '../../shared/schemas'
import type { Generator } from '../generation/generator'
import { DIALECTS } from '../generation/hunyuan/dialects'
import { fitPicture } from '../generation/image-input'
import { INSTANCE_ID, LOOP_MESSAGE, viaContext } from '../instance'
import { type Job, modelOf } from '../service/job'
import type { ModelService } from '../service/model-service'
import { HeldModels } from './held-models'
import { type HunyuanRequest, hunyuanKey, hunyuanRequestSchema, qualityForOctree, VIEWS } from './hunyuan-request'
import { convertModel, type ModelType } from './model-formats'

/** The request with each picture readable by MeshCache (large ones scaled down, other formats as PNG). */
async function fitPictures(request: HunyuanRequest): Promise<HunyuanRequest> {
  const fitted: HunyuanRequest = { ...request }
  for (const view of VIEWS) {
    const bytes = request[view]
    if (bytes) fitted[view] = await fitPicture(bytes)
  }
  return fitted
}

function parse(body: unknown): HunyuanRequest {
  const parsed = hunyuanRequestSchema.safeParse(body)
  if (!parsed.success)
    throw new AppError('INVALID_REQUEST', `The request was refused: ${describeIssues(parsed.error)}.`)
  return parsed.data
}

/** Whether a field was sent, without reading it (a long string is read from the body's bytes only when used). */
function wasSent(body: object, field: string): boolean {
  const property = Object.getOwnPropertyDescriptor(body, field)
  return property !== undefined && (property.get !== undefined || property.value !== null)
}

/** A request the builtin generator cannot make: a mesh to texture, or text alone. */
function refuseForBuiltin(asks: { mesh: boolean; picture: boolean }): void {
  if (!asks.mesh && asks.picture) return
  throw new AppError(
    'BACKEND_UNAVAILABLE',
    `${asks.mesh ? 'Texturing a mesh' : 'Text to 3D'} needs a Hunyuan3D server, and none is reachable (MESHCACHE_HUNYUAN_URL). The builtin generator makes models from a picture only.`,
  )
}

/** What GET /status/<uid> answers. Upstream never reports failures; MeshCache does. */
export type JobStatus =
  | { status: 'processing' }
  | { status: 'completed'; model_base64: string }
  | { status: 'error'; text: string }

interface SentJob {
  at: number
  state: 'processing' | 'completed' | 'error'
  /** The model's key, once completed: its bytes are in `held`. */
  key?: string
  text?: string
  type: ModelType
}

export interface HunyuanCompatOptions {
  /** How long a /send job's result stays fetchable. */
  keepMs?: number
  /** Most /send jobs remembered; the oldest finished ones go first. */
  maxJobs?: number
  now?: () => number
  /** Where finished jobs' models are held (`<data folder>/held`); in memory without one. */
  heldDir?: string
  /** Memory for finished jobs' models when there is no folder (MESHCACHE_HELD_MAX_BYTES). */
  heldMaxBytes?: number
}

/**
 * Hunyuan3D-2's api_server protocol over MeshCache: its clients (the Blender add-on, curl,
 * scripts) get the cache, the single flight and the disk tier by changing one URL. A miss
 * goes to the configured Hunyuan3D-2 server with the client's fields unchanged, or, for a
 * picture and no server, to the builtin generator.
 */
export class HunyuanCompat {
  private readonly jobs = new Map<string, SentJob>()
  private readonly held: HeldModels
  /** Uids of jobs past their two hours (bounded): their status says so, not "no such job". */
  private readonly expired = new Set<string>()
  private readonly keepMs: number
  private readonly maxJobs: number
  private readonly now: () => number

  /** The service, once it has opened (the host answers before the disk index is read). */
  private readonly ready: Promise<ModelService>

  constructor(service: ModelService | Promise<ModelService>, options: HunyuanCompatOptions = {}) {
    this.ready = Promise.resolve(service)
    this.keepMs = options.keepMs ?? 2 * 60 * 60_000
    this.maxJobs = options.maxJobs ?? 10_000
    this.now = options.now ?? Date.now
    this.held = new HeldModels({ dir: options.heldDir, maxBytes: options.heldMaxBytes ?? DEFAULT_HELD_MAX_BYTES })
  }

  /**
   * The backend for a request, refusing what it cannot make before any of the body is
   * decoded: a 64 MB mesh sent to a host with only the builtin generator costs its bytes,
   * not their decoding.
   */
  private async backendFor(body: unknown): Promise<Generator> {
    const generator = await (await this.ready).pickBackend()
    if (!generator.acceptsTextAndMesh && typeof body === 'object' && body !== null) {
      refuseForBuiltin({
        mesh: wasSent(body, 'mesh'),
        picture: wasSent(body, 'image') || wasSent(body, 'image_front'),
      })
    }
    return generator
  }

  /** POST /generate: the model's bytes, in the format asked for (`type`). */
  async generate(
    body: unknown,
    signal?: AbortSignal,
    via: string[] = [],
  ): Promise<{ bytes: Uint8Array; type: ModelType }> {
    refuseLoop(via)
    const generator = await this.backendFor(body)
    const request = parse(body)
    const job = await this.jobFor(request, body, generator, via)
    const { bytes } = await (await this.ready).run(job, { signal })
    return { bytes: await convertModel(bytes, request.type), type: request.type }
  }

  /** POST /send: a job id at once; the model is made (or found) in the background. */
  async send(body: unknown, via: string[] = []): Promise<{ uid: string }> {
    refuseLoop(via)
    const generator = await this.backendFor(body)
    const request = parse(body)
    this.forgetOld()
    const uid = randomUUID()
    const sent: SentJob = { at: this.now(), state: 'processing', type: request.type }
    this.jobs.set(uid, sent)
    this.jobFor(request, body, generator, via)
      .then(async (job) => (await this.ready).run(job))
      .then(
        async ({ result, bytes }) => {
          await this.held.hold(result.key, bytes)
          Object.assign(sent, { state: 'completed', key: result.key })
        },
        (error: unknown) => Object.assign(sent, { state: 'error', text: toErrorPayload(error).message }),
      )
    return { uid }
  }

  /** GET /status/<uid>; undefined for a uid no job has (the route answers a clear error). */
  async status(uid: string): Promise<JobStatus | undefined> {
    this.forgetOld()
    const sent = this.jobs.get(uid)
    if (!sent) {
      if (!this.expired.has(uid)) return undefined
      return {
        status: 'error',
        text: 'This job finished over two hours ago, and its model is no longer held: send the request again.',
      }
    }
    if (sent.state === 'processing') return { status: 'processing' }
    if (sent.state === 'error') return { status: 'error', text: sent.text ?? 'The generation failed.' }
    const bytes = sent.key ? await this.held.get(sent.key) : 'missing'
    if (bytes === 'budget') {
      return {
        status: 'error',
        text: "This job's model was let go to keep finished jobs within the memory set for them (MESHCACHE_HELD_MAX_BYTES): send the request again.",
      }
    }
    if (bytes === 'missing')
      return { status: 'error', text: "This job's model could not be read back: send the request again." }
    const model = await convertModel(bytes, sent.type)
    return {
      status: 'completed',
      model_base64: Buffer.from(model.buffer, model.byteOffset, model.byteLength).toString('base64'),
    }
  }

  /** GET /health: alive, and what kind of server this drop-in fronts (so another MeshCache keys for it). */
  async health(): Promise<{
    status: 'healthy'
    worker_id: string
    meshcache: true
    dialect: '2.0'
    identity: string
    model: string
    instance: string
  }> {
    // A /health that already passed through here answers from what is known: asking again would go round for ever.
    const service = await this.ready
    const looped = (viaContext.getStore() ?? []).includes(INSTANCE_ID)
    const generator = looped ? service.knownBackend() : await service.pickBackend()
    const kind = looped ? generator.knownKind?.() : await generator.serverKind?.().catch(() => undefined)
    return {
      status: 'healthy',
      worker_id: 'meshcache',
      meshcache: true,
      // Which MeshCache this is: one added as its own GPU server is refused.
      instance: INSTANCE_ID,
      // The drop-in takes every 2.0 field (a superset of 2.1's) and keys by what its backend reads.
      dialect: '2.0',
      identity: `meshcache/${kind?.identity ?? `${generator.id}@${generator.version}`}`,
      // Its requests go to the default model; a MeshCache in front of it keys by that name.
      model: modelOf(generator, kind),
    }
  }

  /** Validates a request and resolves it to a job: the backend, the key, what to remember. */
  private async jobFor(parsed: HunyuanRequest, body: unknown, generator: Generator, via: string[]): Promise<Job> {
    const service = await this.ready
    const kind = await generator.serverKind?.()
    const request = await fitPictures(parsed)
    const front = request.image ?? request.image_front
    const key = await hunyuanKey(request, generator, kind, service.digester)
    // A textured request whose untextured twin is cached is textured only (2.0 takes `mesh`).
    const shapeKey =
      request.texture && !request.mesh && front && kind && DIALECTS[kind.variant].texturesGivenMesh
        ? await hunyuanKey({ ...request, texture: false }, generator, kind, service.digester)
        : undefined
    const quality = qualityForOctree(request.octree_resolution)
    const { text = '', seed, octree_resolution, num_inference_steps, guidance_scale, texture, face_count } = request
    const views = VIEWS.filter((view) => view !== 'image' && request[view] !== undefined).length
    return {
      key,
      generator,
      ...(shapeKey ? { shapeKey } : {}),
      input: {
        image: front ?? new Uint8Array(),
        prompt: text,
        quality,
        seed,
        texture,
        ...(kind ? { keyedFor: kind.route } : {}),
        ...(via.length > 0 ? { via } : {}),
        // A Hunyuan3D server gets the client's fields as they came; MeshCache keeps GLB and
        // writes other formats from it.
        upstream: { ...(body as Record<string, unknown>), type: 'glb' },
      },
      meta: {
        prompt: text,
        quality,
        seed,
        backend: generator.id,
        model: modelOf(generator, kind),
        identity: 'hunyuan-api',
        octree_resolution,
        num_inference_steps,
        guidance_scale,
        texture,
        face_count,
        extraViews: views,
        mesh: request.mesh !== undefined,
      },
      picture: front,
    }
  }

  private forgetOld(): void {
    const oldest = this.now() - this.keepMs
    for (const [uid, job] of this.jobs) {
      if (job.at >= oldest && this.jobs.size <= this.maxJobs) break
      if (job.state === 'processing') continue
      this.jobs.delete(uid)
      this.expired.add(uid)
      if (job.key && ![...this.jobs.values()].some((other) => other.key === job.key)) void this.held.release(job.key)
    }
    for (const uid of this.expired) {
      if (this.expired.size <= this.maxJobs) break
      this.expired.delete(uid)
    }
  }
}

/** A request that already passed through this MeshCache is refused at once: waiting on it would wait on itself. */
function refuseLoop(via: string[]): void {
  if (via.includes(INSTANCE_ID)) throw new AppError('INVALID_REQUEST', LOOP_MESSAGE)
}
