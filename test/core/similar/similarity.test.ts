import fc from 'fast-check'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { pictureQuery, pictureSignature } from '../../../src/core/similar/perceptual-hash'
import { type SimilarityParams, SimilarModels } from '../../../src/core/similar/similar-models'
import {
  formatHash64,
  type Hash64,
  hammingDistance,
  parseHash64,
  SimilarityIndex,
} from '../../../src/core/similar/similarity-index'
import { FIXTURE_NAMES, fixture } from '../../support/fixtures'

const hash64 = fc.record({ hi: fc.nat({ max: 0xffffffff }), lo: fc.nat({ max: 0xffffffff }) })
const bits = (h: Hash64): bigint => (BigInt(h.hi) << 32n) | BigInt(h.lo)
const popcount = (n: bigint): number => n.toString(2).replaceAll('0', '').length

describe('SimilarityIndex', () => {
  it('measures the Hamming distance of 64-bit hashes exactly', () => {
    fc.assert(
      fc.property(hash64, hash64, (a, b) => {
        expect(hammingDistance(a, b)).toBe(popcount(bits(a) ^ bits(b)))
        expect(parseHash64(formatHash64(a))).toEqual(a)
      }),
    )
  })

  it('finds what a scan of every entry finds, through any adds and removes', () => {
    const command = fc.oneof(
      fc.record({
        op: fc.constant('add' as const),
        key: fc.nat(20),
        group: fc.nat(2),
        hashes: fc.array(hash64, { minLength: 1, maxLength: 4 }),
      }),
      fc.record({ op: fc.constant('remove' as const), key: fc.nat(20) }),
      fc.record({ op: fc.constant('query' as const), group: fc.nat(2), hash: hash64, threshold: fc.nat(64) }),
    )
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const index = new SimilarityIndex()
        const model = new Map<string, { group: string; hashes: Hash64[] }>()
        for (const c of commands) {
          if (c.op === 'add') {
            index.add(`k${c.key}`, `g${c.group}`, c.hashes)
            model.set(`k${c.key}`, { group: `g${c.group}`, hashes: c.hashes })
          } else if (c.op === 'remove') {
            index.remove(`k${c.key}`)
            model.delete(`k${c.key}`)
          } else {
            const expected = [...model]
              .filter(([, entry]) => entry.group === `g${c.group}`)
              .map(([key, entry]) => ({
                key,
                distance: Math.min(...entry.hashes.map((hash) => hammingDistance(hash, c.hash))),
              }))
              .filter((n) => n.distance <= c.threshold)
            const found = index.nearest(`g${c.group}`, c.hash, c.threshold, 100)
            expect(found.map((n) => n.distance)).toEqual(expected.map((n) => n.distance).sort((a, b) => a - b))
            expect(new Set(found.map((n) => `${n.key}:${n.distance}`))).toEqual(
              new Set(expected.map((n) => `${n.key}:${n.distance}`)),
            )
          }
          expect(index.size).toBe(model.size)
        }
      }),
    )
  })
})

describe('SimilarModels', () => {
  const params: SimilarityParams = { backend: 'builtin', identity: 'gridSide=96,version=1' }
  const meta = (phashes: string, changes: Partial<SimilarityParams> = {}) => ({ ...params, ...changes, phashes })
  /** A hash `flipped` bits away from zero. */
  const away = (flipped: number): string => formatHash64({ hi: 0, lo: flipped === 0 ? 0 : 2 ** flipped - 1 })
  /** A query for the zero hash: the far one stands for the legacy hash, matching nothing. */
  const query = (phash: string, legacy = formatHash64({ hi: 0xffffffff, lo: 0xffffffff })) => ({ phash, legacy })

  it('offers models within the threshold only, nearest first, and never the request itself', () => {
    const similar = new SimilarModels()
    similar.threshold = 3
    similar.remember('same', meta(away(0)))
    similar.remember('near', meta(away(3)))
    similar.remember('far', meta(away(4)))
    expect(similar.find(query(away(0)), params, 'none', () => true)).toEqual([
      { key: 'same', distance: 0 },
      { key: 'near', distance: 3 },
    ])
    expect(similar.find(query(away(0)), params, 'same', () => true).map((n) => n.key)).toEqual(['near'])
    similar.threshold = 4
    expect(similar.find(query(away(0)), params, 'none', () => true).map((n) => n.key)).toContain('far')
  })

  it('never matches a model made with other parameters, or one without a picture hash', () => {
    const similar = new SimilarModels()
    for (const [key, changes] of [
      ['other quality', { identity: 'gridSide=384,version=1' }],
      ['other backend', { backend: 'hunyuan' }],
      ['other version', { identity: 'gridSide=96,version=2' }],
    ] as const)
      similar.remember(key, meta(away(0), changes))
    similar.remember('no hash', { ...params })
    expect(similar.find(query(away(0)), params, 'none', () => true)).toEqual([])
  })

  it('finds an entry by the nearest of its signature hashes, and an older entry by its one hash, looked up as older entries were', () => {
    const similar = new SimilarModels()
    similar.threshold = 2
    similar.remember('cropped', meta(`${away(20)},${away(9)},${away(1)}`))
    similar.remember('older', { ...params, phash: away(30) })
    similar.remember('broken signature', meta(`${away(0)},not a hash`))
    expect(similar.find(query(away(0), away(31)), params, 'none', () => true)).toEqual([
      { key: 'cropped', distance: 1 },
      { key: 'older', distance: 1 },
    ])
    similar.forget('older')
    expect(similar.find(query(away(0), away(31)), params, 'none', () => true).map((n) => n.key)).toEqual(['cropped'])
  })

  it('forgets a match whose model is gone', () => {
    const similar = new SimilarModels()
    similar.remember('gone', meta(away(1)))
    expect(similar.find(query(away(0)), params, 'none', () => false)).toEqual([])
    expect(similar.find(query(away(0)), params, 'none', () => true)).toEqual([])
  })
})

describe('pictureSignature and pictureQuery', () => {
  const distance = (a: string, b: string): number => hammingDistance(parseHash64(a) as Hash64, parseHash64(b) as Hash64)
  /** How far a picture looked up lies from a stored one: the nearest of the stored signature's hashes. */
  const apart = async (stored: Uint8Array, asked: Uint8Array): Promise<number> => {
    const { phash } = await pictureQuery(asked)
    return Math.min(...(await pictureSignature(stored)).split(',').map((hash) => distance(hash, phash)))
  }

  it('gives a resized, re-encoded copy of a picture a hash within the default threshold', async () => {
    const original = fixture('triposr-chair')
    // Saved as a JPEG the way editors do: transparency laid on white.
    const copy = new Uint8Array(
      await sharp(original).resize(300).flatten({ background: '#ffffff' }).jpeg({ quality: 80 }).toBuffer(),
    )
    expect(await apart(original, copy)).toBeLessThanOrEqual(5)
  })

  it('recognises a picture cropped 5 % into its object and saved as lossy WebP (a plain hash misses it by 15 bits and more)', async () => {
    for (const name of ['trellis-character', 'triposr-robot'] as const) {
      const original = fixture(name)
      const { width = 0, height = 0 } = await sharp(original).metadata()
      const cut = Math.round(width * 0.05)
      const cropped = new Uint8Array(
        await sharp(original)
          .extract({ left: cut, top: 0, width: width - cut, height })
          .webp({ quality: 75 })
          .toBuffer(),
      )
      expect(await apart(original, cropped), name).toBeLessThanOrEqual(5)
    }
  })

  it('keeps different objects and mirror images far apart', async () => {
    const signatures = await Promise.all(
      FIXTURE_NAMES.map(async (name) => (await pictureSignature(fixture(name))).split(',')),
    )
    const nearest = (stored: string[], phash: string): number =>
      Math.min(...stored.map((hash) => distance(hash, phash)))
    for (const [i, name] of FIXTURE_NAMES.entries()) {
      const mirrored = await pictureQuery(new Uint8Array(await sharp(fixture(name)).flop().toBuffer()))
      expect(nearest(signatures[i] as string[], mirrored.phash), `${name} mirrored`).toBeGreaterThan(5)
      const { phash } = await pictureQuery(fixture(name))
      for (const [j, other] of FIXTURE_NAMES.entries())
        if (j !== i) expect(nearest(signatures[j] as string[], phash), `${name} ~ ${other}`).toBeGreaterThan(5)
    }
  })
})
