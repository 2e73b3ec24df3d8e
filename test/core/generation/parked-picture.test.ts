import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fixture } from '../../support/fixtures'

/** The module fresh, with the system's temp folder at `folder` (it is read when the module loads). */
async function parking(folder: string) {
  vi.stubEnv('TMPDIR', folder)
  vi.resetModules()
  return import('../../../src/core/generation/parked-picture')
}

describe('ParkedPicture', () => {
  let scratch: string
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'meshcache-parked-test-'))
  })
  afterAll(() => {
    vi.unstubAllEnvs()
  })

  it('moves handed-over bytes to disk, empties them, and gives them back checked', async () => {
    const { ParkedPicture, handOver } = await parking(scratch)
    const bytes = fixture('triposr-robot')
    const copy = Buffer.from(bytes)
    handOver(bytes)
    const parked = await ParkedPicture.park(bytes)
    expect(parked).toBeDefined()
    expect(bytes.byteLength).toBe(0)
    const files = readdirSync(join(scratch, 'meshcache-pixels'))
    expect(files).toHaveLength(1)
    expect(Buffer.from(await (parked as NonNullable<typeof parked>).read()).equals(copy)).toBe(true)
    await parked?.discard()
    expect(readdirSync(join(scratch, 'meshcache-pixels'))).toEqual([])
  })

  it('leaves bytes not handed over, and views into a larger buffer, where they are', async () => {
    const { ParkedPicture, handOver } = await parking(scratch)
    const own = fixture('triposr-robot')
    expect(await ParkedPicture.park(own)).toBeUndefined()
    const view = fixture('triposr-robot').subarray(1)
    handOver(view)
    expect(await ParkedPicture.park(view)).toBeUndefined()
    expect([own.byteLength > 0, view.byteLength > 0]).toEqual([true, true])
  })

  it('lets go of handed-over bytes once kept elsewhere, and of no others', async () => {
    const { handOver, letGo } = await parking(scratch)
    const own = fixture('triposr-robot')
    expect(letGo(own)).toBe(false)
    const given = fixture('triposr-robot')
    handOver(given)
    expect([letGo(given), given.byteLength]).toEqual([true, 0])
    expect(own.byteLength).toBeGreaterThan(0)
  })

  it('refuses a picture that changed or went missing on disk, in words', async () => {
    const { ParkedPicture, handOver } = await parking(scratch)
    const bytes = fixture('trellis-lantern')
    handOver(bytes)
    const parked = await ParkedPicture.park(bytes)
    const [file] = readdirSync(join(scratch, 'meshcache-pixels'))
    const path = join(scratch, 'meshcache-pixels', file as string)
    writeFileSync(path, fixture('triposr-robot'))
    await expect(parked?.read()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('changed'),
    })
    await parked?.discard()
    expect(existsSync(path)).toBe(false)
    await expect(parked?.read()).rejects.toMatchObject({ code: 'INTERNAL' })
  })

  it('keeps the picture in memory, untouched, when the temp folder cannot be used', async () => {
    const blocked = mkdtempSync(join(tmpdir(), 'meshcache-parked-blocked-'))
    // A file where the folder should be: it cannot be made.
    writeFileSync(join(blocked, 'meshcache-pixels'), 'not a folder')
    const { ParkedPicture, handOver } = await parking(blocked)
    const bytes = fixture('triposr-robot')
    handOver(bytes)
    expect(await ParkedPicture.park(bytes)).toBeUndefined()
    expect(bytes.byteLength).toBeGreaterThan(0)
  })
})
