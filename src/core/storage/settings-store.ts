import * as nodeFs from 'node:fs/promises'
import type { CacheConfigPatch } from '../../shared/contract'
import { cacheConfigPatchSchema } from '../../shared/schemas'
import { type StorageFs, writeFileAtomically } from './atomic-write'

/**
 * The cache settings a user chose (limits, policy, similarity threshold), kept in the data
 * folder so a restart keeps them. A missing or unreadable file means the defaults.
 */
export class SettingsStore {
  private readonly fs: StorageFs

  constructor(
    private readonly path: string,
    fs?: StorageFs,
  ) {
    this.fs = fs ?? nodeFs
  }

  async load(): Promise<{ settings: CacheConfigPatch; problem?: string }> {
    let text: string
    try {
      text = await this.fs.readFile(this.path, 'utf8')
    } catch {
      return { settings: {} }
    }
    try {
      const parsed = cacheConfigPatchSchema.safeParse(JSON.parse(text))
      if (parsed.success) return { settings: parsed.data }
    } catch {
      // not JSON: the defaults, and say so
    }
    return { settings: {}, problem: `The saved cache settings (${this.path}) could not be read; the defaults apply.` }
  }

  save(settings: CacheConfigPatch): Promise<void> {
    return writeFileAtomically(this.fs, this.path, `${JSON.stringify(settings, null, 2)}\n`)
  }
}
