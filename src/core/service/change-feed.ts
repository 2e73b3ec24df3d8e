import type { RemovalReason } from '../../shared/cache-types'
import type { CacheChangedEvent } from '../../shared/contract'

export type ChangeReason = CacheChangedEvent['reason']

/** The change event a removal from the memory tier causes. */
export const REMOVAL_CHANGE: Record<RemovalReason, ChangeReason> = {
  maxItems: 'evicted',
  maxBytes: 'evicted',
  replaced: 'replaced',
  deleted: 'deleted',
  cleared: 'cleared',
}

/**
 * Cache changes, coalesced: everything that changes within one synchronous job (a clear of
 * a thousand entries, a batch of evictions) becomes a single event, carrying the last reason.
 */
export class ChangeFeed {
  private pending: ChangeReason | undefined

  constructor(private readonly emit: (event: CacheChangedEvent) => void) {}

  changed(reason: ChangeReason): void {
    if (this.pending === undefined) {
      queueMicrotask(() => {
        const reason = this.pending
        this.pending = undefined
        if (reason) this.emit({ reason })
      })
    }
    this.pending = reason
  }
}
