import * as nodeFs from 'node:fs/promises'
import type { z } from 'zod'
import { addBackendSchema } from '../../shared/schemas'
import { type StorageFs, writeFileAtomically } from '../storage/atomic-write'

export type SavedServer = z.output<typeof addBackendSchema>

/** At most this many servers are kept: each is probed when the list is shown. */
export const MAX_GPU_SERVERS = 64

/**
 * `gpu-servers.json`, read leniently and never lost: each entry on its own (a bad one is
 * skipped, not the list), older formats too (a list of entries or of URLs), and a file that
 * cannot be read at all, or holds bad entries, is first copied aside beside it
 * (`gpu-servers.json.damaged-<time>`), so the next save never destroys what the user had.
 */
export class SavedServers {
  private readonly fs: StorageFs

  constructor(
    readonly path: string,
    fs?: StorageFs,
  ) {
    this.fs = fs ?? nodeFs
  }

  async load(): Promise<{ servers: SavedServer[]; problems: string[] }> {
    let text: string
    try {
      if ((await this.fs.stat(this.path)).isDirectory()) return this.setAside('is a folder')
      text = await this.fs.readFile(this.path, 'utf8')
    } catch {
      return { servers: [], problems: [] }
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return this.setAside('is not JSON')
    }
    const entries = Array.isArray(json) ? json : (json as { servers?: unknown } | null)?.servers
    if (!Array.isArray(entries)) return this.setAside('holds no list of servers')
    const servers: SavedServer[] = []
    let bad = 0
    for (const entry of entries) {
      const parsed = addBackendSchema.safeParse(typeof entry === 'string' ? { url: entry } : known(entry))
      if (parsed.success && !servers.some((server) => server.url === parsed.data.url)) servers.push(parsed.data)
      else if (!parsed.success) bad++
    }
    const problems: string[] = []
    if (bad > 0) {
      const aside = await this.copyAside()
      problems.push(
        `${bad} of the saved GPU servers could not be read and were left out (the file as it was is kept as ${aside}).`,
      )
    }
    if (servers.length > MAX_GPU_SERVERS) {
      problems.push(`Only the first ${MAX_GPU_SERVERS} of ${servers.length} saved GPU servers are used.`)
      servers.length = MAX_GPU_SERVERS
    }
    return { servers, problems }
  }

  save(servers: SavedServer[]): Promise<void> {
    return writeFileAtomically(this.fs, this.path, `${JSON.stringify({ servers }, null, 2)}\n`)
  }

  /** Moves a file (or folder) that cannot be read out of the way, and says so. */
  private async setAside(why: string): Promise<{ servers: SavedServer[]; problems: string[] }> {
    const aside = `${this.path}.damaged-${Date.now()}`
    await this.fs.rename(this.path, aside).catch(() => undefined)
    return {
      servers: [],
      problems: [
        `The saved GPU servers (${this.path}) ${why}, so it was set aside as ${aside}; add the servers again.`,
      ],
    }
  }

  private async copyAside(): Promise<string> {
    const aside = `${this.path}.damaged-${Date.now()}`
    await writeFileAtomically(this.fs, aside, await this.fs.readFile(this.path)).catch(() => undefined)
    return aside
  }
}

/** The fields an entry of any version may carry that this version reads (others are ignored). */
function known(entry: unknown): unknown {
  if (entry === null || typeof entry !== 'object') return entry
  const { url, concurrency, texture, model } = entry as Record<string, unknown>
  return Object.fromEntries(Object.entries({ url, concurrency, texture, model }).filter(([, v]) => v !== undefined))
}
