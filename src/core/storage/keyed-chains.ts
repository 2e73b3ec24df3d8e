/**
 * Runs the operations on each name one after another, in the order they were asked for,
 * while different names proceed independently. Used for files whose writes and removals
 * must never overtake each other.
 */
export class KeyedChains {
  private readonly chains = new Map<string, Promise<unknown>>()

  run<T>(name: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(name) ?? Promise.resolve()
    const next = previous.catch(() => undefined).then(operation)
    const tail: Promise<T> = next.finally(() => {
      if (this.chains.get(name) === tail) this.chains.delete(name)
    })
    this.chains.set(name, tail)
    tail.catch(() => undefined)
    return next
  }

  /** Waits until every operation asked for so far (and any they queued) has finished. */
  async settled(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()].map((p) => p.catch(() => undefined)))
  }
}
