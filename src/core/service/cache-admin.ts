import type { Addresses } from '../../shared/addresses'
import type { CacheConfig, ClearResult, EntriesPage, PolicyReport } from '../../shared/contract'
import { AppError } from '../../shared/errors'
import type { ParsedInput } from '../../shared/operations'
import { replayPolicies } from '../cache/what-if'
import type { SimilarModels } from '../similar/similar-models'
import type { SettingsStore } from '../storage/settings-store'
import type { RequestLog } from './request-log'
import type { TieredStore } from './tiered-store'

/**
 * The cache management operations: entries, deletes, clears, the configuration (saved for
 * the next start) and the what-if report of the eviction policies.
 */
export class CacheAdmin {
  constructor(
    private readonly store: TieredStore,
    private readonly similar: SimilarModels,
    private readonly addresses: Addresses,
    private readonly log: RequestLog,
    private readonly settings?: SettingsStore,
  ) {}

  async entries(query: ParsedInput<'entries'>): Promise<EntriesPage> {
    const page = await this.store.entries(query)
    const items = page.items.map((entry) => ({
      ...entry,
      thumbnailUrl: entry.meta.thumbnail === true ? this.addresses('thumbnail', entry.key) : null,
    }))
    return { ...page, items }
  }

  async deleteEntry({ key, scope }: ParsedInput<'deleteEntry'>): Promise<{ deleted: true }> {
    if (scope === 'team' && !this.store.shared) throw noTeamTier()
    if (!(await this.store.delete(key, scope === 'team')))
      throw new AppError('NOT_FOUND', 'No cached model has that key.')
    this.similar.forget(key)
    return { deleted: true }
  }

  async keepEntry({ key, keep }: ParsedInput<'keepEntry'>): Promise<{ key: string; kept: boolean }> {
    if (!(await this.store.keep(key, keep))) throw new AppError('NOT_FOUND', 'No cached model has that key.')
    return { key, kept: keep }
  }

  async clear({ scope, kept }: ParsedInput<'clear'>): Promise<ClearResult> {
    if (scope === 'team' && !this.store.shared) throw noTeamTier()
    const result = await this.store.clear(scope, kept)
    if (scope !== 'memory') {
      // The kept models stay, and stay findable by their pictures.
      this.similar.clear()
      await this.store.eachEntry((key, meta) => this.similar.remember(key, meta))
    }
    return result
  }

  async getConfig(): Promise<CacheConfig> {
    return { ...this.store.config(), similarityThreshold: this.similar.threshold }
  }

  async setConfig(patch: ParsedInput<'setConfig'>): Promise<CacheConfig> {
    const { diskMaxBytes, policy, similarityThreshold, ...limits } = patch
    if (diskMaxBytes !== undefined && !this.store.disk?.enabled) {
      throw new AppError('INVALID_REQUEST', 'There is no disk tier to limit: it is off or its folder is unusable.')
    }
    this.store.setLimits(limits, diskMaxBytes)
    if (policy !== undefined) this.store.setPolicy(policy)
    if (similarityThreshold !== undefined) this.similar.threshold = similarityThreshold
    const config = await this.getConfig()
    const { diskMaxBytes: disk, ...rest } = config
    await this.settings?.save({ ...rest, ...(disk === null ? {} : { diskMaxBytes: disk }) }).catch((error: unknown) => {
      console.warn(`MeshCache: the cache settings could not be saved (${String(error)}).`)
    })
    return config
  }

  async policyReport(): Promise<PolicyReport> {
    const log = this.log.recent()
    const { maxItems, maxBytes, policy } = this.store.config()
    return { requests: log.length, current: policy, results: replayPolicies(log, { maxItems, maxBytes }) }
  }
}

function noTeamTier(): AppError {
  return new AppError('INVALID_REQUEST', 'There is no team tier: set MESHCACHE_REDIS_URL to share models with a team.')
}
