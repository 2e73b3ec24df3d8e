import type { EntryMeta } from '../../shared/cache-types'
import { type Hash64, type Neighbour, parseHash64, SimilarityIndex } from './similarity-index'

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
  /** Entries by their signature: the picture's hash and those of crops of it (`meta.phashes`). */
  private readonly index = new SimilarityIndex()
  /** Entries stored before signatures, by the one hash they have (`meta.phash`, with a margin). */
  private readonly legacy = new SimilarityIndex()
  threshold = DEFAULT_SIMILARITY_THRESHOLD
  offers = 0
  reuses = 0

  /** Indexes an entry by the signature (or, stored before signatures, the hash) and parameters in its metadata. */
  remember(key: string, meta: EntryMeta): void {
    const params = paramsOf(meta)
    if (!params) return
    const signature = typeof meta.phashes === 'string' ? parseSignature(meta.phashes) : undefined
    const hash = typeof meta.phash === 'string' ? parseHash64(meta.phash) : undefined
    if (signature) this.index.add(key, groupOf(params), signature)
    else if (hash) this.legacy.add(key, groupOf(params), hash)
  }

  forget(key: string): void {
    this.index.remove(key)
    this.legacy.remove(key)
  }

  clear(): void {
    this.index.clear()
    this.legacy.clear()
  }

  /**
   * Stored models near the asked picture with the same parameters, nearest first; `exists`
   * drops stale ones. `query.phash` is looked for among signatures, `query.legacy` among the
   * entries stored before them.
   */
  find(
    query: { phash: string; legacy: string },
    params: SimilarityParams,
    except: string,
    exists: (key: string) => boolean,
  ): Neighbour[] {
    const group = groupOf(params)
    const hash = parseHash64(query.phash)
    const legacyHash = parseHash64(query.legacy)
    const found = [
      ...(hash ? this.index.nearest(group, hash, this.threshold, 8) : []),
      ...(legacyHash ? this.legacy.nearest(group, legacyHash, this.threshold, 8) : []),
    ].sort((a, b) => a.distance - b.distance)
    const live: Neighbour[] = []
    for (const neighbour of found) {
      if (neighbour.key === except) continue
      if (exists(neighbour.key)) live.push(neighbour)
      else this.forget(neighbour.key)
    }
    return live
  }
}

/** A signature's hashes; undefined when any is not a hash. */
function parseSignature(text: string): Hash64[] | undefined {
  const hashes = text.split(',').map(parseHash64)
  return hashes.length > 0 && hashes.every((hash) => hash !== undefined) ? (hashes as Hash64[]) : undefined
}
