import { type CacheLimits, EVICTION_POLICIES, type EvictionPolicyName } from '../../shared/cache-types'
import { BoundedCache } from './bounded-cache'

/** One request as the what-if replay sees it: which model, how big, how long it took to make. */
export interface LoggedRequest {
  key: string
  bytes: number
  generationMs: number
}

export interface PolicyOutcome {
  policy: EvictionPolicyName
  /** Generation time of the requests served from the cache. */
  savedMs: number
  hitRate: number
  byteHitRate: number
}

/**
 * Replays a request log through a cache of the given limits under each policy, with the
 * real cache code: what each policy would have saved on this traffic. The first request
 * for a key is a miss under any policy.
 */
export function replayPolicies(log: readonly LoggedRequest[], limits: CacheLimits): PolicyOutcome[] {
  return EVICTION_POLICIES.map((policy) => {
    const cache = new BoundedCache<number>({ ...limits, policy, sizeOf: (bytes) => bytes, now: () => 0 })
    let savedMs = 0
    let hits = 0
    let hitBytes = 0
    let allBytes = 0
    for (const request of log) {
      allBytes += request.bytes
      if (cache.get(request.key) !== undefined) {
        hits++
        hitBytes += request.bytes
        savedMs += request.generationMs
      } else {
        cache.set(request.key, request.bytes, { generationMs: request.generationMs })
      }
    }
    return {
      policy,
      savedMs,
      hitRate: log.length === 0 ? 0 : hits / log.length,
      byteHitRate: allBytes === 0 ? 0 : hitBytes / allBytes,
    }
  })
}
