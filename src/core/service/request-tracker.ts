import { randomUUID } from 'node:crypto'
import type { ProgressEvent } from '../../shared/contract'
import { AppError } from '../../shared/errors'
import type { JobProgress } from './backends'

export interface TrackedRequest {
  readonly id: string
  /** Aborts on cancel(id) or when the caller's own signal aborts. */
  readonly signal: AbortSignal
  /** From now on, progress of the job for `key` reaches this request. */
  watch(key: string): void
  end(): void
}

/**
 * The requests under way: their ids (for cancel), and which requests wait on which key, so
 * that a generation's progress reaches every request waiting for it, including one that
 * joins halfway (it sees the latest progress at once).
 */
export class RequestTracker {
  private readonly requests = new Map<string, AbortController>()
  private readonly watchers = new Map<string, Set<string>>()
  private readonly latest = new Map<string, JobProgress>()

  constructor(private readonly emit: (event: ProgressEvent) => void) {}

  begin(requestId: string | undefined, outer?: AbortSignal): TrackedRequest {
    const id = requestId ?? randomUUID()
    if (this.requests.has(id)) throw new AppError('INVALID_REQUEST', 'That request id is already in use.')
    const controller = new AbortController()
    const onOuterAbort = (): void => controller.abort()
    outer?.addEventListener('abort', onOuterAbort, { once: true })
    if (outer?.aborted) controller.abort()
    this.requests.set(id, controller)
    let watched: string | undefined
    return {
      id,
      signal: controller.signal,
      watch: (key) => {
        watched = key
        const set = this.watchers.get(key) ?? new Set<string>()
        this.watchers.set(key, set)
        set.add(id)
        const last = this.latest.get(key)
        if (last) this.emit({ requestId: id, ...last })
      },
      end: () => {
        outer?.removeEventListener('abort', onOuterAbort)
        this.requests.delete(id)
        if (watched === undefined) return
        const set = this.watchers.get(watched)
        set?.delete(id)
        if (set?.size === 0) this.watchers.delete(watched)
      },
    }
  }

  /** Stops waiting for a request; its job stops too when no other request waits for it. */
  cancel(requestId: string): boolean {
    const controller = this.requests.get(requestId)
    controller?.abort()
    return controller !== undefined
  }

  progress(key: string, progress: JobProgress): void {
    this.latest.set(key, progress)
    for (const id of this.watchers.get(key) ?? []) this.emit({ requestId: id, ...progress })
  }

  /** The job for `key` has ended: a request joining later starts without old progress. */
  finished(key: string): void {
    this.latest.delete(key)
  }
}
