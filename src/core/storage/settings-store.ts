import type { CacheConfigPatch } from '../../shared/contract'
import { cacheConfigPatchSchema } from '../../shared/schemas'
import type { StorageFs } from './atomic-write'
import { JsonFile } from './json-file'

/**
 * The cache settings a user chose (limits, policy, similarity threshold), kept in the data
 * folder so a restart keeps them. A missing or unreadable file means the defaults.
 */
export class SettingsStore {
  private readonly file: JsonFile<typeof cacheConfigPatchSchema>

  constructor(path: string, fs?: StorageFs) {
    this.file = new JsonFile(path, cacheConfigPatchSchema, 'cache settings', fs)
  }

  async load(): Promise<{ settings: CacheConfigPatch; problem?: string }> {
    const { value, problem } = await this.file.load()
    return { settings: value ?? {}, ...(problem ? { problem } : {}) }
  }

  save(settings: CacheConfigPatch): Promise<void> {
    return this.file.save(settings)
  }
}
