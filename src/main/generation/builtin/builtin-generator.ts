import { Worker } from 'node:worker_threads'
import type { Quality } from '../../../shared/contract'
import { AppError } from '../../../shared/errors'
import type { GeneratedModel, GenerateOptions, Generator, GeneratorDescription, GeneratorInput } from '../generator'
import { BUILTIN_QUALITY, BUILTIN_VERSION } from './quality'
import type { WorkerJob, WorkerMessage } from './worker-protocol'

export interface BuiltinGeneratorOptions {
  /** The built worker script (out/main/builtin-worker.js), or a loader for the TS source in tests. */
  workerPath: string | URL
}

/**
 * The embedded default backend: silhouette inflation on the CPU, one worker thread per job
 * so the main thread never blocks. Cancelling terminates the worker: the work stops at once.
 */
export class BuiltinGenerator implements Generator {
  readonly id = 'builtin'

  constructor(private readonly options: BuiltinGeneratorOptions) {}

  async describe(): Promise<GeneratorDescription> {
    return { name: 'Builtin silhouette inflation (CPU)', version: BUILTIN_VERSION, gpu: false, available: true }
  }

  identity(quality: Quality): Record<string, string | number> {
    const { gridSide, textureSide } = BUILTIN_QUALITY[quality]
    return { version: BUILTIN_VERSION, gridSide, textureSide }
  }

  generate(input: GeneratorInput, { signal, onProgress }: GenerateOptions): Promise<GeneratedModel> {
    if (signal.aborted) return Promise.reject(new AppError('CANCELLED', 'Generation was cancelled.'))
    const job: WorkerJob = { image: input.image, quality: input.quality }
    const worker = new Worker(this.options.workerPath, { workerData: job })
    return new Promise<GeneratedModel>((resolve, reject) => {
      let settled = false
      const finish = (action: () => void): void => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        action()
        void worker.terminate()
      }
      const onAbort = (): void => finish(() => reject(new AppError('CANCELLED', 'Generation was cancelled.')))
      signal.addEventListener('abort', onAbort, { once: true })
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'progress') onProgress?.({ stage: message.stage, fraction: message.fraction })
        else if (message.type === 'done') {
          const { glb, vertices, triangles } = message
          finish(() => resolve({ glb, vertices, triangles }))
        } else finish(() => reject(new AppError(message.code, message.message)))
      })
      worker.on('error', () =>
        finish(() => reject(new AppError('BACKEND_FAILED', 'The builtin generator stopped unexpectedly.'))),
      )
      worker.on('exit', (code) =>
        finish(() => reject(new AppError('BACKEND_FAILED', `The builtin generator exited early (code ${code}).`))),
      )
    })
  }
}
