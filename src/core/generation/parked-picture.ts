import { readFile, rm, writeFile } from 'node:fs/promises'
import { AppError } from '../../shared/errors'
import { release } from '../memory/release'
import { sha256 } from '../sha256'
import { scratchPath } from './scratch-files'

/**
 * A request's picture while it waits for a generator: on disk, not in memory. Sixteen 4096²
 * PNGs sent at once to one generator otherwise wait as 160 MB of bytes (measured with
 * `npm run bench -- memory`), however long the queue takes.
 *
 * Only a picture handed over is parked: bytes a transport made for one request and that no
 * one else holds (see handOver). Parking empties them (their ArrayBuffer is detached, as a
 * transfer does), because a waiting request is referenced from places no code can clear
 * (suspended async frames keep their registers), and only that frees the memory. Read back,
 * the bytes are checked against their SHA-256: a picture that changed on disk never makes a
 * model under the old picture's key.
 */

const handedOver = new WeakSet<Uint8Array>()

/** Marks bytes as this request's alone, made by its transport: they may be parked (and emptied). */
export function handOver(bytes: Uint8Array): void {
  handedOver.add(bytes)
}

/** Empties handed-over bytes once kept elsewhere (see release); bytes not handed over stay as they are. */
export function letGo(bytes: Uint8Array): boolean {
  if (!handedOver.has(bytes) || !release(bytes)) return false
  handedOver.delete(bytes)
  return true
}

export class ParkedPicture {
  private constructor(
    private readonly path: string,
    private readonly digest: string,
    readonly byteLength: number,
  ) {}

  /**
   * Moves handed-over bytes to a scratch file and empties them. Undefined, with the bytes
   * untouched, for bytes not handed over, a view into a larger buffer, or a file that
   * cannot be written (a full or read-only temp folder): the picture then waits in memory.
   */
  static async park(bytes: Uint8Array): Promise<ParkedPicture | undefined> {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    if (!handedOver.has(bytes) || !whole || !(bytes.buffer instanceof ArrayBuffer)) return undefined
    let path: string | undefined
    try {
      path = await scratchPath('picture')
      await writeFile(path, bytes)
    } catch {
      if (path) await rm(path, { force: true }).catch(() => undefined)
      return undefined
    }
    const parked = new ParkedPicture(path, sha256(bytes), bytes.byteLength)
    // Every reference to the bytes now sees none. Defensive: Node 20 detaches every whole
    // ArrayBuffer, but a picture that could not be moved must still be generated, from memory.
    if (!letGo(bytes)) {
      await parked.discard()
      return undefined
    }
    return parked
  }

  /** The picture, read back and checked. */
  async read(): Promise<Uint8Array> {
    const bytes = await readFile(this.path).catch(() => undefined)
    if (!bytes || bytes.byteLength !== this.byteLength || sha256(bytes) !== this.digest) {
      throw new AppError(
        'INTERNAL',
        'The picture waiting for the generator was lost or changed on disk; send it again.',
      )
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** Removes the file (once the generation that needed it is over). */
  async discard(): Promise<void> {
    await rm(this.path, { force: true }).catch(() => undefined)
  }
}
