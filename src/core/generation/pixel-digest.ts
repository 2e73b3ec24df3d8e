import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import sharp, { type Sharp } from 'sharp'
import { AppError } from '../../shared/errors'
import { inspectImage, limitDecodes, SHARP_INPUT } from './image-input'
import { scratchPath } from './scratch-files'

/**
 * The pixel digest of a picture without holding its decode.
 *
 * sharp hands raw output over as one buffer (measured: one 64 MB chunk for 4096², even from
 * its stream), and that buffer lives until a garbage collection: twelve keyings in a row left
 * the process 210 MB larger. libvips writes its own `.v` format to a file row by row instead
 * (a 64-byte header, then the pixels exactly as raw output lays them out), so the pixels go
 * through the page cache and are hashed from the file in 1 MB reads: 61 MB of growth for the
 * same twelve, and faster (114 ms against 141 ms for a 4096² PNG), measured with
 * bench/memory.ts's pictures. Where the file cannot be written (a full or read-only temp
 * folder), the picture is hashed from memory as before: slower to give memory back, same digest.
 */

/**
 * libvips' header of a `.v` file: its size, and its first four bytes, which say the byte
 * order of the fields after them (b6 a6 f2 08 on little-endian machines, 08 f2 a6 b6 else).
 */
const VIPS_HEADER_BYTES = 64
const LITTLE_ENDIAN_MAGIC = 0xb6a6f208
const BIG_ENDIAN_MAGIC = 0x08f2a6b6
/** BandFmt 0 is VIPS_FORMAT_UCHAR; Coding 0 is none: plain 8-bit samples. */
const UCHAR = 0
const NOT_CODED = 0

/** How many digests took each way (the memory way should be rare: it says the folder failed). */
export const digestWays = { throughFile: 0, inMemory: 0 }

/** The decode every digest hashes: EXIF-rotated, 8-bit sRGB, with alpha. */
function normalized(bytes: Uint8Array): Sharp {
  return sharp(bytes, { ...SHARP_INPUT, sequentialRead: true })
    .autoOrient()
    .toColourspace('srgb')
    .ensureAlpha()
}

/** Hashes the pixels through a `.v` file; false when the file could not be used. */
async function hashThroughFile(bytes: Uint8Array, hash: Hash, width: number, height: number): Promise<boolean> {
  let path: string | undefined
  try {
    path = await scratchPath('v')
    const info = await normalized(bytes).toFile(path)
    const header = Buffer.alloc(VIPS_HEADER_BYTES)
    const file = await open(path, 'r')
    try {
      await file.read(header, 0, VIPS_HEADER_BYTES, 0)
    } finally {
      await file.close()
    }
    const magic = header.readUInt32BE(0)
    const little = magic === LITTLE_ENDIAN_MAGIC
    const int = (offset: number): number => (little ? header.readUInt32LE(offset) : header.readUInt32BE(offset))
    const plain =
      (little || magic === BIG_ENDIAN_MAGIC) &&
      int(4) === width &&
      int(8) === height &&
      int(12) === 4 &&
      int(20) === UCHAR &&
      int(24) === NOT_CODED &&
      info.width === width
    if (!plain) return false
    const end = VIPS_HEADER_BYTES + width * height * 4 - 1
    for await (const chunk of createReadStream(path, { start: VIPS_HEADER_BYTES, end, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer)
    }
    return true
  } catch {
    // No file (a full or read-only folder), or a picture libvips cannot decode: the path in
    // memory below digests the first and reports the second.
    return false
  } finally {
    if (path) await rm(path, { force: true }).catch(() => undefined)
  }
}

/**
 * SHA-256 over the decoded pixels (EXIF-rotated 8-bit sRGB RGBA) and their size. Checks the
 * file first. One decode at a time (limitDecodes).
 */
export async function pixelDigest(bytes: Uint8Array): Promise<string> {
  const { width, height } = await inspectImage(bytes)
  return limitDecodes(async () => {
    const prefix = `rgba8:${width}x${height}\n`
    const throughFile = createHash('sha256').update(prefix)
    if (await hashThroughFile(bytes, throughFile, width, height)) {
      digestWays.throughFile++
      return throughFile.digest('hex')
    }
    digestWays.inMemory++
    const inMemory = createHash('sha256').update(prefix)
    try {
      for await (const chunk of normalized(bytes).raw({ depth: 'uchar' })) inMemory.update(chunk as Buffer)
    } catch {
      throw new AppError('CORRUPT_IMAGE', 'The image could not be decoded: it may be damaged or incomplete.')
    }
    return inMemory.digest('hex')
  })
}
