import * as nodeFs from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomically } from '../storage/atomic-write'

/** Why a finished job's model is no longer held. */
export type HeldGone = 'budget' | 'missing'

/**
 * The models of finished /send jobs, held for their two hours whatever the cache does (a
 * clear, an eviction): on disk in the data folder when there is one, else in memory within a
 * byte budget (MESHCACHE_HELD_MAX_BYTES), the oldest let go first. Models are held by key, so
 * jobs of one request share one copy. The jobs themselves live in memory, so a restart lets
 * the folder go too.
 */
export class HeldModels {
  private readonly memory = new Map<string, Uint8Array>()
  private memoryBytes = 0
  private readonly onDisk = new Set<string>()
  /** Keys let go to stay within the budget (bounded like the jobs that point at them). */
  private readonly letGo = new Set<string>()
  private dir: string | undefined
  private readonly cleared: Promise<void>

  constructor(private readonly options: { dir?: string; maxBytes: number; maxLetGo?: number }) {
    this.dir = options.dir
    this.cleared = this.dir
      ? nodeFs.rm(this.dir, { recursive: true, force: true }).catch(() => undefined)
      : Promise.resolve()
  }

  /** Bytes held in memory now (the disk copies are not counted: they cost no memory). */
  get heldBytes(): number {
    return this.memoryBytes
  }

  async hold(key: string, bytes: Uint8Array): Promise<void> {
    if (this.memory.has(key) || this.onDisk.has(key)) return
    this.letGo.delete(key)
    if (this.dir) {
      await this.cleared
      try {
        await writeFileAtomically(nodeFs, join(this.dir, `${key}.glb`), bytes)
        this.onDisk.add(key)
        return
      } catch {
        // A folder that cannot be written: memory, within the budget, from now on.
        this.dir = undefined
      }
    }
    if (bytes.byteLength > this.options.maxBytes) {
      this.forget(key)
      return
    }
    this.memory.set(key, bytes)
    this.memoryBytes += bytes.byteLength
    for (const [oldest, held] of this.memory) {
      if (this.memoryBytes <= this.options.maxBytes) break
      this.memory.delete(oldest)
      this.memoryBytes -= held.byteLength
      this.forget(oldest)
    }
  }

  async get(key: string): Promise<Uint8Array | HeldGone> {
    const inMemory = this.memory.get(key)
    if (inMemory) return inMemory
    if (this.onDisk.has(key) && this.dir) {
      try {
        return new Uint8Array(await nodeFs.readFile(join(this.dir, `${key}.glb`)))
      } catch {
        return 'missing'
      }
    }
    return this.letGo.has(key) ? 'budget' : 'missing'
  }

  /** No job points at the key any more. */
  async release(key: string): Promise<void> {
    const held = this.memory.get(key)
    if (held) {
      this.memory.delete(key)
      this.memoryBytes -= held.byteLength
    }
    if (this.onDisk.delete(key) && this.dir) await nodeFs.rm(join(this.dir, `${key}.glb`), { force: true })
  }

  private forget(key: string): void {
    this.letGo.add(key)
    const most = this.options.maxLetGo ?? 10_000
    for (const oldest of this.letGo) {
      if (this.letGo.size <= most) break
      this.letGo.delete(oldest)
    }
  }
}
