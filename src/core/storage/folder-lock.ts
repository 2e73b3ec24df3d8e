import { randomBytes } from 'node:crypto'
import { unlinkSync } from 'node:fs'
import * as fs from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { processAlive } from '../process-alive'

/**
 * One MeshCache per data folder. Two on one folder each miss the other's models and, on their
 * next start, tidy away each other's files; so a start takes `meshcache.lock` in the folder,
 * and a second one stops with one line naming the folder and the holder. A lock whose holder
 * is gone (a crash, kill -9, a power cut) is stale and taken over.
 */

export interface LockHolder {
  /** What holds it: 'the desktop app' or 'a browser host'. */
  app: string
  pid: number
  machine: string
  since: string
  /** Where it is served, once known. */
  address?: string
  /** Tells two holders of the same pid apart (a pid reused after a crash). */
  nonce: string
}

export class FolderLockedError extends Error {}

export const LOCK_FILE = 'meshcache.lock'

export interface FolderLock {
  /** Adds where the holder is served, so a second start can say it. */
  setAddress(address: string): Promise<void>
  release(): Promise<void>
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await fs.readFile(path, 'utf8')) as LockHolder
    return typeof holder.pid === 'number' && typeof holder.nonce === 'string' ? holder : undefined
  } catch {
    return undefined
  }
}

function inUseMessage(dir: string, holder: LockHolder): string {
  const where = holder.address ? ` at ${holder.address}` : ''
  const machine = holder.machine === hostname() ? '' : ` on ${holder.machine}`
  return `The data folder ${dir} is in use by another MeshCache (${holder.app}, pid ${holder.pid}${machine}${where}). Stop it first, or choose another folder with MESHCACHE_DATA_DIR.`
}

/**
 * Takes the folder's lock, or throws FolderLockedError saying who holds it. A folder where no
 * lock can be written (read-only, not a folder) is not in use by anyone: the start goes on
 * without a lock, and the tiers say what they cannot do there.
 */
export async function lockDataFolder(dir: string, app: string): Promise<FolderLock> {
  try {
    return await takeLock(dir, app)
  } catch (error) {
    if (error instanceof FolderLockedError) throw error
    return { setAddress: async () => undefined, release: async () => undefined }
  }
}

async function takeLock(dir: string, app: string): Promise<FolderLock> {
  await fs.mkdir(dir, { recursive: true })
  const path = join(dir, LOCK_FILE)
  const mine: LockHolder = {
    app,
    pid: process.pid,
    machine: hostname(),
    since: new Date().toISOString(),
    nonce: randomBytes(8).toString('hex'),
  }
  const write = async (holder: LockHolder, flag: 'wx' | 'w'): Promise<void> => {
    const handle = await fs.open(path, flag)
    try {
      await handle.writeFile(`${JSON.stringify(holder)}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
  try {
    await write(mine, 'wx')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const holder = await readHolder(path)
    // Another machine's holder cannot be checked: the folder is taken to be in use.
    if (holder && (holder.machine !== hostname() || (holder.pid !== process.pid && processAlive(holder.pid)))) {
      throw new FolderLockedError(inUseMessage(dir, holder))
    }
    // Stale (its holder is gone) or unreadable: taken over, then checked, so of two starts taking it at once one wins.
    const temporary = `${path}.${mine.nonce}`
    await fs.writeFile(temporary, `${JSON.stringify(mine)}\n`)
    await fs.rename(temporary, path)
    const now = await readHolder(path)
    if (now?.nonce !== mine.nonce) throw new FolderLockedError(inUseMessage(dir, now ?? holder ?? mine))
  }
  let released = false
  const releaseNow = (): void => {
    if (released) return
    released = true
    try {
      unlinkSync(path)
    } catch {
      // Gone already.
    }
  }
  // A process that ends without a clean stop (an uncaught error) still lets the folder go.
  process.once('exit', releaseNow)
  return {
    async setAddress(address) {
      mine.address = address
      const temporary = `${path}.${mine.nonce}`
      await fs.writeFile(temporary, `${JSON.stringify(mine)}\n`)
      await fs.rename(temporary, path)
    },
    async release() {
      const holder = await readHolder(path)
      if (holder?.nonce === mine.nonce) releaseNow()
      released = true
      process.off('exit', releaseNow)
    },
  }
}
