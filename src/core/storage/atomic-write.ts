import { randomBytes } from 'node:crypto'
import type * as nodeFs from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** The file operations the persistent stores use, so tests can inject a full disk or a failing rename. */
export type StorageFs = Pick<typeof nodeFs, 'mkdir' | 'readFile' | 'readdir' | 'rm' | 'rename' | 'open' | 'stat'>

/** Temporary files start with this, so a start-up sweep can tell them from real ones. */
const TMP_PREFIX = '.tmp-'
/** Temporary files this process is writing now: the sweep must leave them alone. */
const inFlight = new Set<string>()

/**
 * Writes a file so that its final name only ever holds a complete copy: a temporary file
 * beside it, fsync, rename over the target, then fsync of the folder so the rename itself
 * survives a power cut. Any failure removes the temporary file and rethrows.
 */
export async function writeFileAtomically(fs: StorageFs, target: string, data: Uint8Array | string): Promise<void> {
  const folder = dirname(target)
  const temporary = join(folder, `${TMP_PREFIX}${basename(target)}-${randomBytes(6).toString('hex')}`)
  inFlight.add(temporary)
  try {
    const handle = await fs.open(temporary, 'w')
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(temporary, target)
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => undefined)
    throw error
  } finally {
    inFlight.delete(temporary)
  }
  await syncFolder(fs, folder)
}

/**
 * Removes the temporary files an interrupted write left in a folder, given its listing.
 * Files this process is writing at this moment are not leftovers and are kept.
 */
export async function sweepTemporaries(fs: StorageFs, folder: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const path = join(folder, name)
    if (name.startsWith(TMP_PREFIX) && !inFlight.has(path)) await fs.rm(path, { force: true })
  }
}

/** fsync of a folder, where the platform allows it (Windows does not: skipped there). */
async function syncFolder(fs: StorageFs, folder: string): Promise<void> {
  let handle: nodeFs.FileHandle | undefined
  try {
    handle = await fs.open(folder, 'r')
    await handle.sync()
  } catch {
    // EISDIR/EPERM on platforms without directory fsync: the file itself was synced.
  } finally {
    await handle?.close().catch(() => undefined)
  }
}

/** Words for the user about a failed write, by its error code. */
export function explainStorageFailure(error: unknown, what = 'Saving models to disk'): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOSPC') return 'The disk is full: models are kept in memory only until space is freed.'
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return 'MeshCache may not write to its data folder: models are kept in memory only.'
  }
  if (code === 'ENOTDIR' || code === 'EEXIST')
    return 'The data folder path is not a folder: models are kept in memory only.'
  return `${what} failed (${code ?? (error instanceof Error ? error.message : 'unknown error')}).`
}
