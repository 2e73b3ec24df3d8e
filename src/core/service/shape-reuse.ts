import type { Job } from './job'
import type { TieredStore } from './tiered-store'

/**
 * Texturing is where a GPU's minutes go (about 17 s untextured against 120 s textured on an
 * A100, Hunyuan3D-2 #127), and Hunyuan3D 2.0 textures a mesh it is given without making the
 * shape again. So a textured request whose untextured model is cached sends that model to be
 * textured only; the shape's own generation time is what that saves.
 */
export class ShapeReuse {
  reuses = 0
  savedMs = 0
  /** Keys being made from a cached shape, with the shape's generation time (what is saved). */
  private readonly textured = new Map<string, number>()

  constructor(private readonly store: TieredStore) {}

  /** The cached untextured model to send with a job, counted as a reuse. */
  async meshFor(job: Job): Promise<{ mesh?: Uint8Array }> {
    if (!job.shapeKey) return {}
    const info = this.store.info(job.shapeKey)
    const mesh = info ? await this.store.model(job.shapeKey) : undefined
    if (!info || !mesh) return {}
    this.reuses++
    this.savedMs += info.generationMs
    this.textured.set(job.key, info.generationMs)
    return { mesh }
  }

  /** Whether the model under `key` was made by texturing a cached shape (asked once, when it is served). */
  reused(key: string): boolean {
    return this.textured.delete(key)
  }

  /** The generation that was sent the shape failed: it saved nothing, and a later one of this key is not a reuse. */
  failed(key: string): void {
    const savedMs = this.textured.get(key)
    if (savedMs === undefined) return
    this.textured.delete(key)
    this.reuses--
    this.savedMs -= savedMs
  }
}
