import { Worker } from 'node:worker_threads'
import { AppError, CancelledError } from '../../../shared/errors'
import { builtinModelName } from '../../../shared/models'
import type {
  GeneratedModel,
  GenerateOptions,
  Generator,
  GeneratorDescription,
  GeneratorInput,
  KeyRequest,
} from '../generator'
import { BUILTIN_QUALITY, BUILTIN_VERSION } from './quality'
import { readPicture } from './reconstruct'
import type { WorkerJob, WorkerMessage } from './worker-protocol'

export interface BuiltinGeneratorOptions {
  /** The built worker script (out/main/builtin-worker.js), or a loader for the TS source in tests. */
  workerPath: string | URL
}

/**
 * The embedded default backend: silhouette inflation on the CPU in a worker thread, so the
 * main thread never blocks. One worker is kept warm between jobs (loading sharp and
 * glTF-Transform costs more than a draft model); cancelling terminates the worker running the
 * job, which stops the work at once, and the next job starts a fresh one.
 */
export class BuiltinGenerator implements Generator {
  readonly id = 'builtin'
  readonly version = BUILTIN_VERSION
  readonly model = builtinModelName(BUILTIN_VERSION)
  readonly acceptsTextAndMesh = false
  private readonly idle: Worker[] = []
  private nextJob = 1

  constructor(private readonly options: BuiltinGeneratorOptions) {}

  async describe(): Promise<GeneratorDescription> {
    return {
      name: 'Builtin silhouette inflation (CPU)',
      version: BUILTIN_VERSION,
      gpu: false,
      available: true,
      state: 'ready',
    }
  }

  /** The working sizes only: the prompt, the seed and `texture` do not change what it makes. */
  async keyParams({ quality }: KeyRequest): Promise<Record<string, string | number>> {
    const { gridSide, textureSide } = BUILTIN_QUALITY[quality]
    return { version: BUILTIN_VERSION, gridSide, textureSide }
  }

  async generate(input: GeneratorInput, { signal, onProgress }: GenerateOptions): Promise<GeneratedModel> {
    if (signal.aborted) throw new CancelledError()
    onProgress?.({ stage: 'decoding', fraction: 0.02 })
    const picture = await readPicture(input.image, input.quality)
    if (signal.aborted) throw new CancelledError()
    const worker = this.idle.pop() ?? this.spawn()
    worker.ref()
    const job: WorkerJob = { id: this.nextJob++, picture, quality: input.quality }
    return new Promise<GeneratedModel>((resolve, reject) => {
      let settled = false
      const finish = (action: () => void, reusable: boolean): void => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        worker.off('message', onMessage)
        worker.off('error', onError)
        worker.off('exit', onExit)
        action()
        if (reusable) this.release(worker)
        else void worker.terminate()
      }
      const onAbort = (): void => finish(() => reject(new CancelledError()), false)
      const onMessage = (message: WorkerMessage): void => {
        if (message.id !== job.id) return
        if (message.type === 'progress') onProgress?.({ stage: message.stage, fraction: message.fraction })
        else if (message.type === 'done') {
          const { glb, vertices, triangles } = message
          finish(() => resolve({ glb, vertices, triangles }), true)
        } else finish(() => reject(new AppError(message.code, message.message)), true)
      }
      const onError = (): void =>
        finish(() => reject(new AppError('BACKEND_FAILED', 'The builtin generator stopped unexpectedly.')), false)
      const onExit = (code: number): void =>
        finish(
          () => reject(new AppError('BACKEND_FAILED', `The builtin generator exited early (code ${code}).`)),
          false,
        )
      signal.addEventListener('abort', onAbort, { once: true })
      worker.on('message', onMessage)
      worker.on('error', onError)
      worker.on('exit', onExit)
      // Copied, not transferred: a few hundred KB, in a buffer sharp owns.
      worker.postMessage(job)
    })
  }

  /** Stops the idle workers (on quit, and in tests). */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((worker) => worker.terminate()))
  }

  private spawn(): Worker {
    const worker = new Worker(this.options.workerPath)
    // An idle worker that dies is simply forgotten; the next job starts another.
    worker.on('exit', () => {
      const index = this.idle.indexOf(worker)
      if (index >= 0) this.idle.splice(index, 1)
    })
    return worker
  }

  private release(worker: Worker): void {
    if (this.idle.length > 0) {
      void worker.terminate()
      return
    }
    // A waiting worker must not keep the process alive.
    worker.unref()
    this.idle.push(worker)
  }
}
