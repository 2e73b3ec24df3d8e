import type { BackendInfo } from '../../shared/contract'
import { AppError } from '../../shared/errors'
import type { LogFn } from '../app-log'
import type { GenerateProgress, Generator, GeneratorDescription, GeneratorInput } from '../generation/generator'
import { assertGlb } from '../generation/glb-check'
import { JobQueue } from '../generation/job-queue'
import type { TeamScheduler } from '../team/team-scheduler'
import { TeamUnavailable } from '../team/team-unavailable'

/** Jobs a backend runs at once: one, or one per slot of a pool of GPU servers. */
function slotsOf(generator: Generator): number {
  return 'slots' in generator && typeof generator.slots === 'number' ? generator.slots : 1
}

export interface BackendsOptions {
  /** How long a backend's availability answer is trusted. */
  availabilityTtlMs?: number
  now?: () => number
  /** Team mode: generations run on the team's queues (one per request across the team). */
  team?: TeamScheduler
  /** Told when a backend's state changes (ready, busy, unreachable). */
  log?: LogFn
}

export type JobProgress = GenerateProgress & { position?: number }

/**
 * The generators, in order of preference: which are available (probed, and trusted for a
 * while), which one a request uses, and one queue per backend so each runs one job at a
 * time (a GPU does one model at a time; Hunyuan3D's server has no queue of its own).
 */
export class Backends {
  private readonly queues = new Map<string, JobQueue>()
  private readonly availability = new Map<string, { at: number; description: GeneratorDescription }>()
  private readonly ttlMs: number
  private readonly now: () => number
  private readonly team: TeamScheduler | undefined

  constructor(
    readonly generators: Generator[],
    private readonly options: BackendsOptions = {},
  ) {
    if (generators.length === 0) throw new Error('MeshCache needs at least one generator')
    for (const generator of generators) this.queues.set(generator.id, new JobQueue(() => slotsOf(generator)))
    this.ttlMs = options.availabilityTtlMs ?? 30_000
    this.now = options.now ?? Date.now
    this.team = options.team
  }

  /** The named backend, or the default one; refuses an unknown or unreachable backend. */
  async pick(id: string | undefined, model?: string): Promise<Generator> {
    return (await this.choose(id, model)).generator
  }

  /**
   * The backend a request uses, and why, when the builtin generator stands in for GPU
   * servers: only when none of them is reachable (a busy one keeps its requests). A request
   * that names a model goes to the GPU servers, never to a stand-in: it asked for those weights.
   */
  async choose(id: string | undefined, model?: string): Promise<{ generator: Generator; fallback?: string }> {
    if (id === undefined && model !== undefined) {
      const gpu = this.generators.find((g) => g.gpu === true)
      if (!gpu) throw new AppError('INVALID_REQUEST', `No GPU server is set up, so no model "${model}" can be used.`)
      return { generator: gpu }
    }
    if (id === undefined) {
      const generator = await this.defaultGenerator()
      // The builtin generator stands in without a word only where no GPU server is set up at all.
      const configured = this.generators.filter(
        (g) => g.gpu === true && this.availability.get(g.id)?.description.servers?.length !== 0,
      )
      if (generator.gpu === true || configured.length === 0) return { generator }
      return { generator, fallback: 'No GPU server is reachable, so the builtin CPU generator made this model.' }
    }
    const generator = this.generators.find((g) => g.id === id)
    if (!generator) {
      throw new AppError(
        'INVALID_REQUEST',
        `Unknown backend "${id}"; choose one of: ${this.generators.map((g) => g.id).join(', ')}.`,
      )
    }
    const description = await this.describe(generator, false)
    if (!description.available) {
      throw new AppError('BACKEND_UNAVAILABLE', description.detail ?? `${generator.id} is unavailable.`)
    }
    return { generator }
  }

  /** Every backend with a fresh availability answer. */
  async describeAll(): Promise<BackendInfo[]> {
    const defaultId = (await this.defaultGenerator()).id
    return Promise.all(
      this.generators.map(async (generator) => ({
        id: generator.id,
        ...(await this.describe(generator, true)),
        isDefault: generator.id === defaultId,
      })),
    )
  }

  /** Whether a job for this backend would wait now (its queue's slots are all taken); never in team mode, whose queue is the team's. */
  wouldWait(generator: Generator): boolean {
    if (this.team?.ready) return false
    return (this.queues.get(generator.id)?.length ?? 0) >= slotsOf(generator)
  }

  /**
   * Runs one job: on the team's queue in team mode (joining a generation of the same key
   * anywhere in the team), else (or when the team's Redis is unreachable) through this
   * instance's queue for the backend. The result is checked to be a GLB.
   */
  async run(
    generator: Generator,
    input: GeneratorInput,
    options: {
      key: string
      signal: AbortSignal
      onProgress: (progress: JobProgress) => void
      /** The picture, when it waited on disk (input.image is then empty): read once the job starts. */
      picture?: () => Promise<Uint8Array>
    },
  ): Promise<Uint8Array> {
    const { signal, onProgress, picture } = options
    const withPicture = async (): Promise<GeneratorInput> => (picture ? { ...input, image: await picture() } : input)
    if (this.team?.ready) {
      try {
        return await this.team.run(generator, options.key, await withPicture(), { signal, onProgress })
      } catch (error) {
        if (!(error instanceof TeamUnavailable)) throw error
      }
    }
    const queue = this.queues.get(generator.id) as JobQueue
    const model = await queue
      .run(
        () => {
          const generate = (given: GeneratorInput) =>
            generator.generate(given, {
              signal,
              onProgress: (p) => onProgress({ ...p, server: p.server ?? generator.id }),
            })
          return picture ? withPicture().then(generate) : generate(input)
        },
        {
          signal,
          onPosition: (position) => onProgress({ stage: 'queued', fraction: 0, position }),
        },
      )
      .catch((error: unknown) => {
        // A server found gone is asked again by the next request, not trusted for the TTL.
        if (error instanceof AppError && error.code === 'BACKEND_UNAVAILABLE') this.availability.delete(generator.id)
        throw error
      })
    assertGlb(model.glb, 'The generator')
    return model.glb
  }

  /** Drops what is known of a backend's availability: the next request asks it afresh. */
  forget(id: string): void {
    this.availability.delete(id)
  }

  async close(): Promise<void> {
    await this.team?.close()
    await Promise.all(this.generators.map((g) => g.close?.()))
  }

  /** The first available generator in order of preference; the last one is the fallback. */
  private async defaultGenerator(): Promise<Generator> {
    for (const generator of this.generators) {
      if ((await this.describe(generator, false)).available) return generator
    }
    return this.generators[this.generators.length - 1] as Generator
  }

  private async describe(generator: Generator, fresh: boolean): Promise<GeneratorDescription> {
    const known = this.availability.get(generator.id)
    if (!fresh && known && this.now() - known.at < this.ttlMs) return known.description
    const description = await generator.describe()
    if (known?.description.state !== description.state) {
      this.options.log?.('backend state', {
        backend: generator.id,
        state: description.state,
        detail: description.detail,
      })
    }
    this.availability.set(generator.id, { at: this.now(), description })
    return description
  }
}
