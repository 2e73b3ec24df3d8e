import { readdirSync, rmSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { processAlive } from '../process-alive'

/**
 * Scratch files of this process (decoded pixels being hashed, pictures waiting for a
 * generator), in one folder under the system's temp folder. Each name starts with the
 * process id: the files of a process that crashed are removed by the next one to use the
 * folder, and a process removes its own when it exits.
 */
const folder = join(tmpdir(), 'meshcache-pixels')
let folderReady: Promise<void> | undefined
let nextFile = 0

/** Makes the folder once and removes what crashed processes left in it. */
function scratchFolder(): Promise<void> {
  folderReady ??= mkdir(folder, { recursive: true }).then(() => {
    for (const name of readdirSync(folder)) {
      const pid = Number(name.split('-')[0])
      if (!Number.isInteger(pid) || !processAlive(pid)) rmSync(join(folder, name), { force: true })
    }
    process.once('exit', () => {
      for (const name of readdirSync(folder)) {
        if (name.startsWith(`${process.pid}-`)) rmSync(join(folder, name), { force: true })
      }
    })
  })
  // A folder that could not be made is tried again by the next file.
  folderReady.catch(() => {
    folderReady = undefined
  })
  return folderReady
}

/** A new scratch file's path (the file itself is the caller's to write and remove); rejects when the folder cannot be made. */
export async function scratchPath(extension: string): Promise<string> {
  await scratchFolder()
  return join(folder, `${process.pid}-${nextFile++}.${extension}`)
}
