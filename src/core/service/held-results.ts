/**
 * Models that were answered but that no tier could keep (larger than every limit, or every
 * write failed): held for a while so the answer's model URL still works, then let go. A
 * bounded few, so holding them never grows without limit.
 */
export class HeldResults {
  private readonly held = new Map<string, { bytes: Uint8Array; until: number }>()

  constructor(
    private readonly options: { maxItems: number; holdMs: number; now: () => number } = {
      maxItems: 4,
      holdMs: 30 * 60_000,
      now: Date.now,
    },
  ) {}

  hold(key: string, bytes: Uint8Array): void {
    this.held.delete(key)
    this.held.set(key, { bytes, until: this.options.now() + this.options.holdMs })
    // Oldest first in a Map's order: drop from the front.
    while (this.held.size > this.options.maxItems) this.held.delete(this.held.keys().next().value as string)
  }

  get(key: string): Uint8Array | undefined {
    const entry = this.held.get(key)
    if (!entry) return undefined
    if (entry.until <= this.options.now()) {
      this.held.delete(key)
      return undefined
    }
    return entry.bytes
  }

  delete(key: string): void {
    this.held.delete(key)
  }

  clear(): void {
    this.held.clear()
  }
}
