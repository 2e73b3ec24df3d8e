import fc from 'fast-check'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { perceptualHash } from '../../../src/core/similar/perceptual-hash'
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
      fc.record({ op: fc.constant('add' as const), key: fc.nat(20), group: fc.nat(2), hash: hash64 }),
      fc.record({ op: fc.constant('remove' as const), key: fc.nat(20) }),
      fc.record({ op: fc.constant('query' as const), group: fc.nat(2), hash: hash64, threshold: fc.nat(64) }),
    )
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const index = new SimilarityIndex()
        const model = new Map<string, { group: string; hash: Hash64 }>()
        for (const c of commands) {
          if (c.op === 'add') {
            index.add(`k${c.key}`, `g${c.group}`, c.hash)
            model.set(`k${c.key}`, { group: `g${c.group}`, hash: c.hash })
          } else if (c.op === 'remove') {
            index.remove(`k${c.key}`)
            model.delete(`k${c.key}`)
          } else {
            const expected = [...model]
              .filter(([, entry]) => entry.group === `g${c.group}`)
              .map(([key, entry]) => ({ key, distance: hammingDistance(entry.hash, c.hash) }))
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
  const meta = (phash: string, changes: Partial<SimilarityParams> = {}) => ({ ...params, ...changes, phash })
  /** A hash `flipped` bits away from zero. */
  const away = (flipped: number): string => formatHash64({ hi: 0, lo: flipped === 0 ? 0 : 2 ** flipped - 1 })

  it('offers models within the threshold only, nearest first, and never the request itself', () => {
    const similar = new SimilarModels()
    similar.threshold = 3
    similar.remember('same', meta(away(0)))
    similar.remember('near', meta(away(3)))
    similar.remember('far', meta(away(4)))
    expect(similar.find(away(0), params, 'none', () => true)).toEqual([
      { key: 'same', distance: 0 },
      { key: 'near', distance: 3 },
    ])
    expect(similar.find(away(0), params, 'same', () => true).map((n) => n.key)).toEqual(['near'])
    similar.threshold = 4
    expect(similar.find(away(0), params, 'none', () => true).map((n) => n.key)).toContain('far')
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
    expect(similar.find(away(0), params, 'none', () => true)).toEqual([])
  })

  it('forgets a match whose model is gone', () => {
    const similar = new SimilarModels()
    similar.remember('gone', meta(away(1)))
    expect(similar.find(away(0), params, 'none', () => false)).toEqual([])
    expect(similar.find(away(0), params, 'none', () => true)).toEqual([])
  })
})

describe('perceptualHash', () => {
  const distance = (a: string, b: string): number => hammingDistance(parseHash64(a) as Hash64, parseHash64(b) as Hash64)

  it('gives a resized, re-encoded copy of a picture a hash within the default threshold', async () => {
    const original = fixture('triposr-chair')
    // Saved as a JPEG the way editors do: transparency laid on white.
    const copy = new Uint8Array(
      await sharp(original).resize(300).flatten({ background: '#ffffff' }).jpeg({ quality: 80 }).toBuffer(),
    )
    expect(distance(await perceptualHash(original), await perceptualHash(copy))).toBeLessThanOrEqual(5)
  })

  it('keeps different objects far apart', async () => {
    const hashes = await Promise.all(FIXTURE_NAMES.map((name) => perceptualHash(fixture(name))))
    for (let i = 0; i < hashes.length; i++)
      for (let j = i + 1; j < hashes.length; j++)
        expect(distance(hashes[i] as string, hashes[j] as string)).toBeGreaterThan(5)
  })
})
