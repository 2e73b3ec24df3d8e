import { join } from 'node:path'
import { type StorageFs, writeFileAtomically } from './atomic-write'
import { KeyedChains } from './keyed-chains'

/**
 * Content-addressed files (`<sha256>.glb`): identical models share one file. Each file has
 * an explicit reference count (the index entries that point to it, plus writes under way); a
 * file is removed only when its count is zero at the moment of removal. All operations on
 * one file run one after another, so a removal queued before a new reference can never
 * delete the file that reference just wrote.
 */
export class ContentStore {
  private readonly refs = new Map<string, number>()
  private readonly chains = new KeyedChains()

  constructor(
    private readonly fs: StorageFs,
    private readonly dir: string,
  ) {}

  path(file: string): string {
    return join(this.dir, `${file}.glb`)
  }

  references(file: string): number {
    return this.refs.get(file) ?? 0
  }

  /** Counts a reference to a file known to be on disk already (loading the index). */
  adopt(file: string): void {
    this.refs.set(file, this.references(file) + 1)
  }

  /**
   * Takes a reference and makes sure the file exists with these bytes. The reference is
   * taken at once (before any await), so a pending removal sees it. The first reference
   * writes the file; a later one writes it only if it is missing (an earlier write failed).
   * On failure the reference is given back and the error rethrown.
   */
  async retain(file: string, bytes: Uint8Array): Promise<void> {
    const first = this.references(file) === 0
    this.refs.set(file, this.references(file) + 1)
    try {
      await this.chains.run(file, async () => {
        if (first || !(await this.exists(file))) await writeFileAtomically(this.fs, this.path(file), bytes)
      })
    } catch (error) {
      this.release(file)
      throw error
    }
  }

  /** Gives a reference back; the file goes when nobody refers to it any more. */
  release(file: string): void {
    const left = this.references(file) - 1
    if (left > 0) {
      this.refs.set(file, left)
      return
    }
    this.refs.delete(file)
    void this.chains
      .run(file, async () => {
        if (this.references(file) === 0) await this.fs.rm(this.path(file), { force: true })
      })
      .catch(() => undefined)
  }

  /**
   * Deletes a file found on disk that no entry refers to, or moves it to `keepAt`; in the
   * file's queue, so a write that takes a reference first keeps it. True if it was handled.
   */
  async removeUnreferenced(file: string, keepAt?: string): Promise<boolean> {
    return this.chains.run(file, async () => {
      if (this.references(file) > 0) return false
      if (keepAt) await this.fs.rename(this.path(file), keepAt)
      else await this.fs.rm(this.path(file), { force: true })
      return true
    })
  }

  async exists(file: string): Promise<boolean> {
    try {
      await this.fs.stat(this.path(file))
      return true
    } catch {
      return false
    }
  }

  /** Waits for every file operation queued so far. */
  settled(): Promise<void> {
    return this.chains.settled()
  }
}
