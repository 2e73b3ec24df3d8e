import * as nodeFs from 'node:fs/promises'
import { join } from 'node:path'
import { BoundedCache } from '../cache'
import { type StorageFs, writeFileAtomically } from './atomic-write'

/**
 * Small WebP pictures of each model's input, for the entries table and similar-model offers.
 * Kept in a bounded memory cache and, when there is a data folder, as files beside the
 * models. A thumbnail is a nicety: failures to store one are ignored.
 */
export class ThumbnailStore {
  private readonly memory = new BoundedCache<Uint8Array>({ maxItems: 5_000, maxBytes: 48 * 1024 * 1024 })
  private readonly fs: StorageFs
  /** File writes wait for a clear under way, so a new thumbnail is never removed with old ones. */
  private ready: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: { dir?: string; fs?: StorageFs } = {}) {
    this.fs = options.fs ?? nodeFs
  }

  async open(): Promise<void> {
    if (this.options.dir) await this.fs.mkdir(this.options.dir, { recursive: true }).catch(() => undefined)
  }

  put(key: string, bytes: Uint8Array): Promise<void> {
    this.memory.set(key, bytes)
    if (!this.options.dir) return Promise.resolve()
    this.ready = this.ready.then(() => writeFileAtomically(this.fs, this.path(key), bytes)).catch(() => undefined)
    return this.ready.then(() => undefined)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const cached = this.memory.peek(key)
    if (cached || !this.options.dir) return cached
    try {
      const bytes = await this.fs.readFile(this.path(key))
      this.memory.set(key, bytes)
      return bytes
    } catch {
      return undefined
    }
  }

  delete(key: string): void {
    this.memory.delete(key)
    if (this.options.dir) void this.fs.rm(this.path(key), { force: true }).catch(() => undefined)
  }

  /** Forgets the memory copies only (the models stay on disk, and so do their thumbnails). */
  clearMemory(): void {
    this.memory.clear()
  }

  /** Removes every thumbnail, files too, except those of the `spared` keys (models the user keeps). */
  clear(spared: ReadonlySet<string> = new Set()): void {
    for (const key of this.memory.keys()) if (!spared.has(key)) this.memory.delete(key)
    const dir = this.options.dir
    if (!dir) return
    const removal =
      spared.size === 0
        ? () => this.fs.rm(dir, { recursive: true, force: true }).then(() => this.open())
        : async () => {
            for (const name of await this.fs.readdir(dir)) {
              if (!spared.has(name.replace(/\.webp$/, ''))) await this.fs.rm(join(dir, name), { force: true })
            }
          }
    this.ready = this.ready.then(removal).catch(() => undefined)
  }

  private path(key: string): string {
    return join(this.options.dir as string, `${key}.webp`)
  }
}
