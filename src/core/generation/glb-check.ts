import { AppError } from '../../shared/errors'

/**
 * Checks that bytes are a GLB whose every part is where it says: the header (magic "glTF",
 * version 2, the file's own length), the chunks within the file, the JSON chunk parsed, and
 * every buffer, buffer view and accessor within the bytes present. A model that lies about
 * its contents is refused before it is cached, and dropped when read back; nothing downstream
 * (the viewer, a conversion to STL) is handed lengths that point outside the file.
 */

const MAGIC = 0x46546c67
const JSON_CHUNK = 0x4e4f534a
const BIN_CHUNK = 0x004e4942
const COMPONENT_BYTES: Record<number, number> = { 5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4 }
const TYPE_COMPONENTS: Record<string, number> = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT2: 4, MAT3: 9, MAT4: 16 }

interface Gltf {
  asset?: { version?: unknown }
  buffers?: { byteLength?: unknown; uri?: unknown }[]
  bufferViews?: { buffer?: unknown; byteOffset?: unknown; byteLength?: unknown; byteStride?: unknown }[]
  accessors?: { bufferView?: unknown; byteOffset?: unknown; componentType?: unknown; type?: unknown; count?: unknown }[]
}

const whole = (value: unknown, fallback?: number): number | undefined =>
  value === undefined ? fallback : Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined

/** What is wrong with a GLB, in words; undefined when every part is where it says. */
export function glbProblem(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 20 || view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== 2) {
    return 'not a GLB 2.0 file'
  }
  if (view.getUint32(8, true) !== bytes.byteLength) return 'its header gives another length than the file has'
  const jsonLength = view.getUint32(12, true)
  if (view.getUint32(16, true) !== JSON_CHUNK) return 'its first chunk is not JSON'
  if (20 + jsonLength > bytes.byteLength) return 'its JSON chunk claims more bytes than the file has'
  let gltf: Gltf
  try {
    gltf = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 20, jsonLength).toString('utf8')) as Gltf
  } catch {
    return 'its JSON chunk is not JSON'
  }
  if (gltf === null || typeof gltf !== 'object' || typeof gltf.asset?.version !== 'string')
    return 'it has no glTF asset'
  let binLength = 0
  const binAt = 20 + jsonLength
  if (binAt + 8 <= bytes.byteLength) {
    binLength = view.getUint32(binAt, true)
    if (view.getUint32(binAt + 4, true) !== BIN_CHUNK) return 'its second chunk is not binary'
    if (binAt + 8 + binLength > bytes.byteLength) return 'its binary chunk claims more bytes than the file has'
  }
  const buffers = (gltf.buffers ?? []).map((buffer, index) => {
    const length = whole(buffer?.byteLength)
    if (length === undefined) return undefined
    // The first buffer without a URI is the binary chunk; one with a URI refers to a file it does not carry.
    if (buffer.uri === undefined) return index === 0 && length <= binLength ? length : undefined
    return typeof buffer.uri === 'string' && buffer.uri.startsWith('data:') ? length : undefined
  })
  if (buffers.some((length) => length === undefined)) return 'a buffer lies outside the file'
  const views = (gltf.bufferViews ?? []).map((bufferView) => {
    const buffer = buffers[whole(bufferView?.buffer) ?? -1]
    const offset = whole(bufferView?.byteOffset, 0)
    const length = whole(bufferView?.byteLength)
    if (buffer === undefined || offset === undefined || length === undefined || offset + length > buffer)
      return undefined
    return { length, stride: whole(bufferView.byteStride) }
  })
  if (views.some((each) => each === undefined)) return 'a buffer view lies outside its buffer'
  for (const accessor of gltf.accessors ?? []) {
    const count = whole(accessor?.count)
    const element =
      (COMPONENT_BYTES[accessor?.componentType as number] ?? 0) * (TYPE_COMPONENTS[accessor?.type as string] ?? 0)
    if (count === undefined || element === 0) return 'an accessor has no valid type or count'
    if (accessor.bufferView === undefined) continue
    const target = views[whole(accessor.bufferView) ?? -1]
    const offset = whole(accessor.byteOffset, 0)
    if (!target || offset === undefined) return 'an accessor refers to a buffer view that does not exist'
    const span = count === 0 ? 0 : offset + (count - 1) * (target.stride ?? element) + element
    if (span > target.length) return 'an accessor reads past the end of its buffer view'
  }
  return undefined
}

/** Throws when the bytes are not a GLB whose every part is where it says. */
export function assertGlb(bytes: Uint8Array, source: string): void {
  const problem = glbProblem(bytes)
  if (problem === 'not a GLB 2.0 file' || problem === 'its header gives another length than the file has') {
    throw new AppError('BACKEND_FAILED', `${source} returned something that is not a valid GLB model.`)
  }
  if (problem) {
    throw new AppError(
      'BACKEND_FAILED',
      `${source} returned a GLB that lies about its contents: ${problem}. It was not kept.`,
    )
  }
}
