import type { EntryMeta } from '../../shared/cache-types'
import { type Neighbour, parseHash64, SimilarityIndex } from './similarity-index'

/** The generation parameters that must match for one model to stand in for another. */
export interface SimilarityParams {
  backend: string
  /** The backend's keyed parameters as text (what decides its models besides the picture). */
  identity: string
}

export const DEFAULT_SIMILARITY_THRESHOLD = 5

function groupOf(params: SimilarityParams): string {
  return JSON.stringify([params.backend, params.identity])
}

/** The parameters recorded in an entry's metadata, if it has all of them. */
function paramsOf(meta: EntryMeta): SimilarityParams | undefined {
  const { backend, identity } = meta
  if (typeof backend !== 'string' || typeof identity !== 'string') return undefined
  return { backend, identity }
}

/**
 * Which stored models were made from a near-identical picture with the same parameters. It
 * never replaces a model by itself: callers offer the matches, or use one only when the
 * request asks for it. Counts offers and reuses for the statistics.
 */
export class SimilarModels {
  private readonly index = new SimilarityIndex()
  threshold = DEFAULT_SIMILARITY_THRESHOLD
  offers = 0
  reuses = 0

  /** Indexes an entry by the perceptual hash and parameters in its metadata. */
  remember(key: string, meta: EntryMeta): void {
    const params = paramsOf(meta)
    const hash = typeof meta.phash === 'string' ? parseHash64(meta.phash) : undefined
    if (params && hash) this.index.add(key, groupOf(params), hash)
  }

  forget(key: string): void {
    this.index.remove(key)
  }

  clear(): void {
    this.index.clear()
  }

  /** Stored models near `phash` with the same parameters, nearest first; `exists` drops stale ones. */
  find(phash: string, params: SimilarityParams, except: string, exists: (key: string) => boolean): Neighbour[] {
    const hash = parseHash64(phash)
    if (!hash) return []
    const found = this.index.nearest(groupOf(params), hash, this.threshold, 8)
    const live: Neighbour[] = []
    for (const neighbour of found) {
      if (neighbour.key === except) continue
      if (exists(neighbour.key)) live.push(neighbour)
      else this.index.remove(neighbour.key)
    }
    return live
  }
}
