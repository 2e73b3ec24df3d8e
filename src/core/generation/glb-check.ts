import { AppError } from '../../shared/errors'

/** Checks a GLB's header: the magic "glTF", version 2 and a declared length equal to the file's. */
export function assertGlb(bytes: Uint8Array, source: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ok =
    bytes.byteLength >= 20 &&
    view.getUint32(0, true) === 0x46546c67 &&
    view.getUint32(4, true) === 2 &&
    view.getUint32(8, true) === bytes.byteLength
  if (!ok) throw new AppError('BACKEND_FAILED', `${source} returned something that is not a valid GLB model.`)
}
