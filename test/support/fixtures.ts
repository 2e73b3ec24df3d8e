import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import type { ParsedGenerateRequest } from '../../src/shared/schemas'

const here = dirname(fileURLToPath(import.meta.url))
/** Real test images, copied from the project's shared fixtures with their licences (test/fixtures/images/SOURCES.md). */
export const FIXTURE_DIR = process.env.MESHCACHE_FIXTURES ?? join(here, '../fixtures/images')

export const FIXTURE_NAMES = readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.png'))
  .sort()

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURE_DIR, name.endsWith('.png') ? name : `${name}.png`)))
}

export const BUILTIN_WORKER = join(here, 'builtin-worker.mjs')

export async function solidPng(
  width: number,
  height: number,
  rgba: [number, number, number, number],
): Promise<Uint8Array> {
  const [r, g, b, a] = rgba
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 4, background: { r, g, b, alpha: a / 255 } } })
      .png()
      .toBuffer(),
  )
}

/** A small opaque picture: a dark disk on a light background. */
export async function diskPng(size = 64): Promise<Uint8Array> {
  const r = size * 0.35
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#e0e0e0"/><circle cx="${size / 2}" cy="${size / 2}" r="${r}" fill="#203080"/></svg>`
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer())
}

/** A PNG whose header claims 100 000 × 100 000 pixels: a decompression bomb. */
export function bombPng(): Uint8Array {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(100_000, 0)
  header.writeUInt32BE(100_000, 4)
  header[8] = 8
  header[9] = 6
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(Buffer.alloc(1000))),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  )
}

/**
 * A fixture picture made distinct by `n` (one corner pixel's colour encodes it), at `size`
 * pixels: a different request for every n to a generator that reads the picture only (the
 * builtin generator ignores the seed and the prompt, so those no longer make requests differ).
 */
export async function numberedPicture(n: number, name = 'triposr-robot', size = 192): Promise<Uint8Array> {
  const { data, info } = await sharp(fixture(name))
    .resize(size)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  data[0] = n & 0xff
  data[1] = (n >> 8) & 0xff
  data[2] = (n >> 16) & 0xff
  return new Uint8Array(
    await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
      .png()
      .toBuffer(),
  )
}

/** The teapot as a parsed draft request of `seed`: the service tests' usual request. */
export function teapotRequest(seed: number): ParsedGenerateRequest {
  return { image: fixture('triposr-teapot'), prompt: '', quality: 'draft', seed, reuse: 'exact', texture: false }
}
