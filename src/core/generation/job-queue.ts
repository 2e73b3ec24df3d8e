import { CancelledError } from '../../shared/errors'

interface Waiting {
  start: () => void
  onPosition?: (jobsAhead: number) => void
}

export interface QueueOptions {
  /** Aborting while queued removes the job; aborting while running is the task's business. */
  signal?: AbortSignal
  /** Told how many jobs are ahead whenever that changes while the job waits. */
  onPosition?: (jobsAhead: number) => void
}

/**
 * Runs at most `concurrency` jobs at a time, the rest in arrival order: a GPU (or the CPU
 * worker) does one model at a time, and Hunyuan3D's server has no queue of its own. Several
 * GPU servers give several slots.
 */
export class JobQueue {
  private active = 0
  private readonly waiting: Waiting[] = []

  /** `concurrency` may change while jobs wait (a GPU server added or removed). */
  constructor(private readonly slots: number | (() => number) = 1) {}

  private get concurrency(): number {
    return typeof this.slots === 'number' ? this.slots : this.slots()
  }

  get length(): number {
    return this.waiting.length + this.active
  }

  run<T>(task: () => Promise<T>, options: QueueOptions = {}): Promise<T> {
    const { signal, onPosition } = options
    if (signal?.aborted) return Promise.reject(new CancelledError())
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        onPosition,
        start: () => {
          signal?.removeEventListener('abort', onAbort)
          this.active++
          Promise.resolve()
            .then(task)
            .then(resolve, reject)
            .finally(() => {
              this.active--
              this.next()
            })
        },
      }
      const onAbort = (): void => {
        const index = this.waiting.indexOf(entry)
        if (index < 0) return
        this.waiting.splice(index, 1)
        reject(new CancelledError())
        this.announcePositions()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(entry)
      if (this.active >= this.concurrency) this.announcePositions()
      else this.next()
    })
  }

  private next(): void {
    if (this.active >= this.concurrency) return
    const entry = this.waiting.shift()
    if (!entry) return
    entry.start()
    this.announcePositions()
  }

  private announcePositions(): void {
    // Jobs ahead: those waiting before this one, and the running ones when every slot is taken.
    const running = this.active >= this.concurrency ? this.active : 0
    this.waiting.forEach((entry, index) => {
      entry.onPosition?.(index + running)
    })
  }
}
