import { Document, NodeIO } from '@gltf-transform/core'
import type {
  GeneratedModel,
  GenerateOptions,
  Generator,
  GeneratorDescription,
  GeneratorInput,
  KeyRequest,
} from '../../src/core/generation/generator'
import { CancelledError } from '../../src/shared/errors'
import { deferred } from '../helpers'

/** A small valid GLB whose bytes depend on `seed` (and grow by `padding` bytes). */
export async function glbFor(seed: number, padding = 0): Promise<Uint8Array> {
  const doc = new Document()
  const buffer = doc.createBuffer()
  const position = doc
    .createAccessor()
    .setType('VEC3')
    .setArray(new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, seed % 1000]))
    .setBuffer(buffer)
  const mesh = doc.createMesh().addPrimitive(doc.createPrimitive().setAttribute('POSITION', position))
  const node = doc.createNode().setMesh(mesh)
  if (padding > 0) {
    doc
      .createAccessor()
      .setType('SCALAR')
      .setArray(new Uint8Array(padding).fill(seed % 251))
      .setBuffer(buffer)
  }
  doc.createScene().addChild(node)
  return new NodeIO().writeBinary(doc)
}

/**
 * FAKE generator for tests (a real GPU backend cannot run here; the builtin one is too fast
 * to race against). Each job makes a small valid GLB that depends on the request's seed;
 * while the gate is held, every job waits until the test releases it, so tests that cancel
 * or join a running job never race the clock.
 */
export class GatedGenerator implements Generator {
  readonly id: string
  readonly version = '1'
  readonly acceptsTextAndMesh = false
  runs = 0
  /** Jobs that have started and not yet finished. */
  running = 0
  /** Extra bytes in every model (to test size limits). */
  padding = 0
  /** When set, every job fails with this error. */
  failure: Error | undefined
  available = true
  /** The pictures the jobs were given, in order. */
  readonly pictures: Uint8Array[] = []
  private gate = deferred<void>()
  private held = false
  private readonly started: (() => void)[] = []

  constructor(id = 'gated') {
    this.id = id
  }

  hold(): void {
    if (!this.held) this.gate = deferred<void>()
    this.held = true
  }

  release(): void {
    this.held = false
    this.gate.resolve()
  }

  /** Resolves once `count` jobs have started in total. */
  async jobsStarted(count: number): Promise<void> {
    while (this.runs < count) await new Promise<void>((resolve) => this.started.push(resolve))
  }

  async describe(): Promise<GeneratorDescription> {
    return {
      name: `Gated test generator ${this.id}`,
      version: '1',
      gpu: false,
      available: this.available,
      state: this.available ? 'ready' : 'unreachable',
    }
  }

  /** A generator that reads the quality and the seed (not the prompt or texture). */
  async keyParams({ quality, seed }: KeyRequest): Promise<Record<string, string | number>> {
    return { version: 1, quality, seed }
  }

  async generate(input: GeneratorInput, { signal, onProgress }: GenerateOptions): Promise<GeneratedModel> {
    this.runs++
    this.running++
    this.pictures.push(input.image)
    for (const notify of this.started.splice(0)) notify()
    try {
      onProgress?.({ stage: 'generating', fraction: 0.5 })
      if (this.held) {
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => reject(new CancelledError())
          if (signal.aborted) return onAbort()
          signal.addEventListener('abort', onAbort, { once: true })
          void this.gate.promise.then(() => {
            signal.removeEventListener('abort', onAbort)
            resolve()
          })
        })
      }
      if (this.failure) throw this.failure
      onProgress?.({ stage: 'done', fraction: 1 })
      return { glb: await glbFor(input.seed + input.image.byteLength, this.padding) }
    } finally {
      this.running--
    }
  }
}
