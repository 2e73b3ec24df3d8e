import * as nodeFs from 'node:fs/promises'
import type { LoggedRequest } from '../cache/what-if'
import { type StorageFs, writeFileAtomically } from '../storage/atomic-write'

/** How many recent requests the log keeps. */
export const REQUEST_LOG_SIZE = 20_000

/**
 * The app's own recent requests (keys, sizes and generation times only, nothing else), so
 * the cache panel can show what each eviction policy would have saved on this traffic.
 * Kept in the data folder across restarts when there is one.
 */
export class RequestLog {
  private entries: LoggedRequest[] = []
  private readonly fs: StorageFs

  constructor(
    private readonly path?: string,
    fs?: StorageFs,
  ) {
    this.fs = fs ?? nodeFs
  }

  async load(): Promise<void> {
    if (!this.path) return
    try {
      const parsed: unknown = JSON.parse(await this.fs.readFile(this.path, 'utf8'))
      if (Array.isArray(parsed)) this.entries = parsed.filter(isLogged).slice(-REQUEST_LOG_SIZE)
    } catch {
      // no log yet, or an unreadable one: start a new one
    }
  }

  record(request: LoggedRequest): void {
    this.entries.push(request)
    if (this.entries.length > REQUEST_LOG_SIZE * 1.25) this.entries = this.entries.slice(-REQUEST_LOG_SIZE)
  }

  recent(): readonly LoggedRequest[] {
    return this.entries.slice(-REQUEST_LOG_SIZE)
  }

  async save(): Promise<void> {
    if (this.path) await writeFileAtomically(this.fs, this.path, JSON.stringify(this.recent())).catch(() => undefined)
  }
}

function isLogged(value: unknown): value is LoggedRequest {
  const v = value as Partial<LoggedRequest> | null
  return (
    typeof v?.key === 'string' &&
    Number.isFinite(v.bytes) &&
    (v.bytes as number) >= 0 &&
    Number.isFinite(v.generationMs) &&
    (v.generationMs as number) >= 0
  )
}
