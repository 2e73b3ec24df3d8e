import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp, { type Region, type Sharp } from 'sharp'
import { dHash64, objectPicture, pHash64 } from '../src/core/similar/perceptual-hash'
import { DEFAULT_SIMILARITY_THRESHOLD } from '../src/core/similar/similar-models'
import { hammingDistance, parseHash64, SimilarityIndex } from '../src/core/similar/similarity-index'
import { ROOT } from './built'
import { type BenchReport, fmt, markdownTable, percentile, rng } from './lib'

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
const THRESHOLD = DEFAULT_SIMILARITY_THRESHOLD

type Transform = (image: Sharp, info: { width: number; height: number }) => Sharp

/** The variants a picture goes through in practice: re-saved, resized, cropped, re-lit, flattened. */
const VARIANTS: { name: string; make: Transform }[] = [
  ...[50, 60, 70, 80, 90].map((percent) => ({
    name: `resized to ${percent}%`,
    make: ((image, { width }) => image.resize(Math.round((width * percent) / 100))) as Transform,
  })),
  // JPEG has no alpha: an editor saving one lays the picture on white.
  ...[60, 70, 80, 95].map((quality) => ({
    name: `JPEG quality ${quality}`,
    make: ((image) => image.flatten({ background: '#ffffff' }).jpeg({ quality })) as Transform,
  })),
  { name: 'WebP (lossy)', make: (image) => image.webp({ quality: 80 }) },
  ...[1, 2, 3].map((percent, i) => ({
    name: `cropped ${percent}% on one side`,
    make: ((image, { width, height }) => {
      const dx = Math.round((width * percent) / 100)
      const dy = Math.round((height * percent) / 100)
      const sides = [
        { left: dx, top: 0, width: width - dx, height },
        { left: 0, top: dy, width, height: height - dy },
        { left: 0, top: 0, width: width - dx, height },
      ]
      return image.extract(sides[i] as Region)
    }) as Transform,
  })),
  { name: 'brightness -5%', make: (image) => image.modulate({ brightness: 0.95 }) },
  { name: 'brightness +5%', make: (image) => image.modulate({ brightness: 1.05 }) },
  { name: 'flattened onto white', make: (image) => image.flatten({ background: '#ffffff' }) },
]

/** Hash functions measured; the first is the one MeshCache uses. */
const GREY = [128, 128, 128] as const
const CANDIDATES: { name: string; hash: (image: Uint8Array) => Promise<string> }[] = [
  { name: 'pHash of the object on white (sharp-phash)', hash: async (image) => pHash64(await objectPicture(image)) },
  {
    name: 'pHash of the object on grey (sharp-phash)',
    hash: async (image) => pHash64(await objectPicture(image, GREY)),
  },
  { name: 'dHash of the object on white', hash: async (image) => dHash64(await objectPicture(image)) },
  {
    name: 'pHash of the whole picture on grey (sharp-phash)',
    hash: async (image) => {
      const { data, info } = await sharp(image)
        .flatten({ background: { r: 128, g: 128, b: 128 } })
        .raw()
        .toBuffer({ resolveWithObject: true })
      return pHash64({ data, width: info.width, height: info.height })
    },
  },
]

const distance = (a: string, b: string): number => hammingDistance(parseHash64(a) as never, parseHash64(b) as never)

/** Lookup time in one parameter group of `entries` random hashes (the worst case: every entry shares the parameters). */
function lookupTimes(entries: number): { meanUs: number; p99Us: number } {
  const random = rng(entries)
  const index = new SimilarityIndex()
  const word = (): number => Math.floor(random() * 2 ** 32) >>> 0
  for (let i = 0; i < entries; i++) index.add(`k${i}`, 'group', { hi: word(), lo: word() })
  const times: number[] = []
  for (let i = 0; i < 2_000; i++) {
    const query = { hi: word(), lo: word() }
    const started = performance.now()
    index.nearest('group', query, THRESHOLD)
    times.push((performance.now() - started) * 1000)
  }
  const measured = times.slice(200)
  return { meanUs: measured.reduce((a, b) => a + b, 0) / measured.length, p99Us: percentile(measured, 99) }
}

export async function runSimilarBench(): Promise<BenchReport> {
  const names = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.png'))
    .sort()
  const originals = names.map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(FIXTURES, name))) }))
  const variants: { of: string; variant: string; bytes: Uint8Array }[] = []
  const mirrored: { of: string; bytes: Uint8Array }[] = []
  for (const original of originals) {
    const info = await sharp(original.bytes).metadata()
    const size = { width: info.width ?? 0, height: info.height ?? 0 }
    for (const variant of VARIANTS) {
      const bytes = new Uint8Array(await variant.make(sharp(original.bytes), size).toBuffer())
      variants.push({ of: original.name, variant: variant.name, bytes })
    }
    mirrored.push({ of: original.name, bytes: new Uint8Array(await sharp(original.bytes).flop().toBuffer()) })
  }

  const results = []
  for (const candidate of CANDIDATES) {
    const hashOf = new Map<string, string>()
    for (const o of originals) hashOf.set(o.name, await candidate.hash(o.bytes))
    const found = await Promise.all(
      variants.map(async (v) => ({
        ...v,
        distance: distance(await candidate.hash(v.bytes), hashOf.get(v.of) as string),
      })),
    )
    const recall = found.filter((f) => f.distance <= THRESHOLD).length / found.length
    const missed = found.filter((f) => f.distance > THRESHOLD).map((f) => `${f.of}: ${f.variant} (${f.distance})`)
    const pairs: { a: string; b: string; distance: number }[] = []
    for (let i = 0; i < originals.length; i++) {
      for (let j = i + 1; j < originals.length; j++) {
        const a = (originals[i] as { name: string }).name
        const b = (originals[j] as { name: string }).name
        pairs.push({ a, b, distance: distance(hashOf.get(a) as string, hashOf.get(b) as string) })
      }
    }
    const mirrors = await Promise.all(
      mirrored.map(async (m) => ({
        a: m.of,
        b: 'its mirror image',
        distance: distance(await candidate.hash(m.bytes), hashOf.get(m.of) as string),
      })),
    )
    const falseMatches = [...pairs, ...mirrors].filter((p) => p.distance <= THRESHOLD)
    results.push({
      candidate: candidate.name,
      recall,
      variants: found.length,
      missed,
      falseMatches: falseMatches.map((p) => `${p.a} ~ ${p.b} (${p.distance})`),
      nearestFalseDistance: Math.min(...[...pairs, ...mirrors].map((p) => p.distance)),
      pairsChecked: pairs.length + mirrors.length,
    })
  }
  const lookup = { 1000: lookupTimes(1_000), 100000: lookupTimes(100_000) }
  const chosen = results[0] as (typeof results)[number]
  const table = [
    markdownTable(
      [
        'hash',
        `recall (${chosen.variants} variants, threshold ${THRESHOLD} of 64 bits)`,
        'false matches',
        'nearest distinct pair (bits)',
      ],
      results.map((r) => [
        r === chosen ? `**${r.candidate}** (used)` : r.candidate,
        `${fmt(r.recall * 100, 1)}%`,
        `${r.falseMatches.length} of ${r.pairsChecked}`,
        r.nearestFalseDistance,
      ]),
    ),
    '',
    markdownTable(
      ['entries in the index', 'lookup mean', 'lookup p99'],
      Object.entries(lookup).map(([n, t]) => [fmt(Number(n)), `${fmt(t.meanUs, 1)} µs`, `${fmt(t.p99Us, 1)} µs`]),
    ),
    '',
    `Variants not found by the hash in use: ${chosen.missed.length === 0 ? 'none' : chosen.missed.join('; ')}.`,
  ].join('\n')
  return { name: 'similar', table, data: { threshold: THRESHOLD, results, lookup } }
}
