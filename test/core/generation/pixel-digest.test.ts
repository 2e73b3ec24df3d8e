import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fixture } from '../../support/fixtures'

/**
 * The digest hashes pixels through libvips' `.v` file rather than one large buffer; it must
 * give exactly the digest of the raw decode (the keys of every stored model depend on it),
 * and fall back to memory when the scratch folder cannot be used.
 */

/** The digest as defined: SHA-256 over `rgba8:WxH\n` and the raw 8-bit RGBA decode. */
async function definedDigest(bytes: Uint8Array): Promise<string> {
  const { data, info } = await sharp(bytes)
    .autoOrient()
    .toColourspace('srgb')
    .ensureAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true })
  return createHash('sha256').update(`rgba8:${info.width}x${info.height}\n`).update(data).digest('hex')
}

/** Pictures that take different paths through the decode: alpha, 16 bits, grey, CMYK, EXIF turns. */
async function pictures(): Promise<Record<string, Uint8Array>> {
  const png = await fixture('trellis-lantern.png')
  return {
    'RGBA PNG': png,
    '16-bit PNG': await sharp(png).toColourspace('rgb16').png().toBuffer(),
    'greyscale JPEG': await sharp(png).greyscale().jpeg().toBuffer(),
    'CMYK JPEG': await sharp(png).flatten().toColourspace('cmyk').jpeg().toBuffer(),
    'odd-sized WebP turned by EXIF': await sharp(png)
      .resize(301, 157)
      .webp()
      .withMetadata({ orientation: 6 })
      .toBuffer(),
  }
}

describe('pixel digest', () => {
  let scratch: string
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'meshcache-digest-test-'))
    vi.stubEnv('TMPDIR', scratch)
  })
  afterAll(() => {
    vi.unstubAllEnvs()
  })

  it('equals the digest of the raw decode for every kind of picture, and leaves no file behind', async () => {
    vi.resetModules()
    const { pixelDigest, digestWays } = await import('../../../src/core/generation/pixel-digest')
    const all = Object.entries(await pictures())
    for (const [name, bytes] of all) {
      expect(await pixelDigest(bytes), name).toBe(await definedDigest(bytes))
    }
    expect(digestWays).toEqual({ throughFile: all.length, inMemory: 0 })
    expect(readdirSync(join(scratch, 'meshcache-pixels'))).toEqual([])
  })

  it('removes what a crashed process left, and keeps the files of a running one', async () => {
    const folder = join(scratch, 'meshcache-pixels')
    mkdirSync(folder, { recursive: true })
    // Process ids above the kernel's pid_max (4 194 304) never run.
    writeFileSync(join(folder, '999999999-0.v'), 'left by a crash')
    writeFileSync(join(folder, `${process.ppid}-0.v`), 'a running process')
    vi.resetModules()
    const { pixelDigest } = await import('../../../src/core/generation/pixel-digest')
    await pixelDigest(await fixture('triposr-robot.png'))
    expect(existsSync(join(folder, '999999999-0.v'))).toBe(false)
    expect(existsSync(join(folder, `${process.ppid}-0.v`))).toBe(true)
  })

  it('digests in memory, the same, when the scratch folder cannot be made', async () => {
    const blocked = mkdtempSync(join(tmpdir(), 'meshcache-digest-blocked-'))
    // A file where the folder should be: mkdir fails.
    writeFileSync(join(blocked, 'meshcache-pixels'), 'not a folder')
    vi.stubEnv('TMPDIR', blocked)
    vi.resetModules()
    const { pixelDigest, digestWays } = await import('../../../src/core/generation/pixel-digest')
    const bytes = await fixture('triposr-teapot.png')
    expect(await pixelDigest(bytes)).toBe(await definedDigest(bytes))
    expect(digestWays).toEqual({ throughFile: 0, inMemory: 1 })
    vi.stubEnv('TMPDIR', scratch)
  })

  it('still refuses a damaged picture in words', async () => {
    vi.resetModules()
    const { pixelDigest } = await import('../../../src/core/generation/pixel-digest')
    const png = await fixture('trellis-pyramid.png')
    const cut = png.slice(0, Math.floor(png.byteLength * 0.6))
    await expect(pixelDigest(cut)).rejects.toMatchObject({ code: 'CORRUPT_IMAGE' })
  })
})
