/** One upload being read, as the buffer sees it. */
export interface BufferedReader {
  /** Held back by the buffer (not by its client). */
  paused: boolean
  resume(): void
}

/**
 * The bytes of uploads read but not yet parsed, in this whole process, within a budget. An
 * upload past the budget is held back (its socket paused, so its client waits in TCP) until
 * bytes are given back, except the oldest upload still reading, which always reads on: the
 * buffer can never be full of half bodies that all wait for each other, and a body larger
 * than the whole budget still arrives. A client that stops sending holds only the bytes it
 * sent, and only until its stall deadline.
 */
export class UploadBuffer {
  private held = 0
  /** Uploads still reading, oldest first. */
  private readonly readers: BufferedReader[] = []

  constructor(public budget: number) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.held
  }

  join(reader: BufferedReader): void {
    this.readers.push(reader)
  }

  /** The reader took `n` bytes; false when it should now wait. */
  take(reader: BufferedReader, n: number): boolean {
    this.held += n
    return this.mayRead(reader)
  }

  /** The reader stopped reading (its body is whole, or it failed). */
  leave(reader: BufferedReader): void {
    const at = this.readers.indexOf(reader)
    if (at >= 0) this.readers.splice(at, 1)
    this.wake()
  }

  /** Bytes no longer held (parsed, or refused). */
  give(n: number): void {
    this.held -= n
    this.wake()
  }

  private mayRead(reader: BufferedReader): boolean {
    return this.readers[0] === reader || this.held < this.budget
  }

  private wake(): void {
    for (const reader of this.readers) {
      if (reader.paused && this.mayRead(reader)) {
        reader.paused = false
        reader.resume()
      }
    }
  }
}
