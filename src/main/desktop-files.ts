import { existsSync } from 'node:fs'
import { access, constants, mkdir, readFile, stat } from 'node:fs/promises'
import { basename, extname, sep } from 'node:path'
import type { OpenPictureEvent } from '../shared/contract'
import { AppError } from '../shared/errors'
import { MAX_UPLOAD_BYTES } from '../shared/limits'

const PICTURE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp'])

/** The picture a launch names on its command line (`meshcache robot.png`): its last existing picture path. */
export function picturePathIn(argv: readonly string[]): string | undefined {
  return [...argv].reverse().find((arg) => PICTURE_EXTENSIONS.has(extname(arg).toLowerCase()) && existsSync(arg))
}

/** A picture file as the window takes it; too large or unreadable is a clear error. */
export async function readPicture(path: string): Promise<OpenPictureEvent> {
  const facts = await stat(path)
  if (facts.size > MAX_UPLOAD_BYTES) {
    throw new AppError('FILE_TOO_LARGE', `${basename(path)} is larger than ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB.`)
  }
  return { name: basename(path), bytes: new Uint8Array(await readFile(path)) }
}

/**
 * Checks that the data folder can hold the models: it exists (or can be made) and is writable.
 * Throws a sentence for the start-up error screen.
 */
export async function checkDataFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a file of that name is in the way'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? 'MeshCache may not write there'
          : (code ?? String(error))
    throw new AppError('INTERNAL', `MeshCache cannot use its data folder ${dir}: ${why}.`)
  }
}

/**
 * A packed app's file that electron-builder keeps outside the asar archive (asarUnpack in
 * electron-builder.yml): Node's worker threads cannot start a script from inside the archive.
 */
export function unpackedPath(path: string): string {
  return path.replace(`${sep}app.asar${sep}`, `${sep}app.asar.unpacked${sep}`)
}
