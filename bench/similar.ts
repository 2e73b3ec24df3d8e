import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp, { type Region, type Sharp } from 'sharp'
import {
  CROP_SHARES,
  dHash64,
  objectPicture,
  pHash64,
  pictureQuery,
  pictureSignature,
} from '../src/core/similar/perceptual-hash'
import { DEFAULT_SIMILARITY_THRESHOLD } from '../src/core/similar/similar-models'
import { hammingDistance, parseHash64, SimilarityIndex } from '../src/core/similar/similarity-index'
import { ROOT } from './built'
import { type BenchReport, fmt, markdownTable, percentile, rng } from './lib'

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')
const THRESHOLD = DEFAULT_SIMILARITY_THRESHOLD

/** Where a fixture's object is (its opaque pixels), and the picture's size. */
interface ObjectBox {
  left: number
  top: number
  width: number
  height: number
  pictureWidth: number
  pictureHeight: number
}
type Transform = (image: Sharp, info: { width: number; height: number }, box: ObjectBox) => Sharp

async function objectBox(image: Uint8Array): Promise<ObjectBox> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  let left = info.width
  let right = -1
  let top = info.height
  let bottom = -1
  for (let y = 0; y < info.height; y++)
    for (let x = 0; x < info.width; x++) {
      if ((data[(y * info.width + x) * 4 + 3] as number) <= 128) continue
      left = Math.min(left, x)
      right = Math.max(right, x)
      top = Math.min(top, y)
      bottom = Math.max(bottom, y)
    }
  return {
    left,
    top,
    width: right - left + 1,
    height: bottom - top + 1,
    pictureWidth: info.width,
    pictureHeight: info.height,
  }
}

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
  ...[1, 2, 3, 4, 5].map((percent, i) => ({
    name: `cropped ${percent}% on one side, lossy WebP`,
    make: ((image, { width, height }) => {
      const dx = Math.round((width * percent) / 100)
      const dy = Math.round((height * percent) / 100)
      const sides = [
        { left: dx, top: 0, width: width - dx, height },
        { left: 0, top: dy, width, height: height - dy },
        { left: 0, top: 0, width: width - dx, height },
        { left: 0, top: 0, width, height: height - dy },
      ]
      return image.extract(sides[i % sides.length] as Region).webp({ quality: 75 })
    }) as Transform,
  })),
  ...[3, 5].map((percent) => ({
    name: `cropped ${percent}% on two sides, lossy WebP`,
    make: ((image, { width, height }) => {
      const dx = Math.round((width * percent) / 100)
      const dy = Math.round((height * percent) / 100)
      return image.extract({ left: dx, top: dy, width: width - dx, height: height - dy }).webp({ quality: 75 })
    }) as Transform,
  })),
  // Cut into the object itself: the crop starts this share of the object's own size inside it.
  ...[
    { share: 0.01, side: 'left' },
    { share: 0.03, side: 'right' },
    { share: 0.05, side: 'top' },
    { share: 0.05, side: 'left' },
  ].map(({ share, side }) => ({
    name: `cropped ${share * 100}% into the object (${side}), lossy WebP`,
    make: ((image, _size, box) => {
      const cutX = Math.max(3, Math.round(box.width * share))
      const cutY = Math.max(3, Math.round(box.height * share))
      const region: Region =
        side === 'left'
          ? { left: box.left + cutX, top: 0, width: box.pictureWidth - box.left - cutX, height: box.pictureHeight }
          : side === 'right'
            ? { left: 0, top: 0, width: box.left + box.width - cutX, height: box.pictureHeight }
            : { left: 0, top: box.top + cutY, width: box.pictureWidth, height: box.pictureHeight - box.top - cutY }
      return image.extract(region).webp({ quality: 75 })
    }) as Transform,
  })),
  { name: 'brightness -5%', make: (image) => image.modulate({ brightness: 0.95 }) },
  { name: 'brightness +5%', make: (image) => image.modulate({ brightness: 1.05 }) },
  { name: 'flattened onto white', make: (image) => image.flatten({ background: '#ffffff' }) },
]

/**
 * Ways of indexing a stored picture (`stored`: one hash or several) and of looking one up
 * (`asked`); a lookup's distance is that to the nearest stored hash. The first is MeshCache's.
 */
const GREY = [128, 128, 128] as const
const WHITE = [255, 255, 255] as const
const single = (hash: (image: Uint8Array) => Promise<string>) => ({
  stored: async (image: Uint8Array) => [await hash(image)],
  asked: hash,
})
const CANDIDATES: {
  name: string
  stored: (image: Uint8Array) => Promise<string[]>
  asked: (image: Uint8Array) => Promise<string>
}[] = [
  {
    name: 'signature: pHash of the object cut at its box, and of it cut 2 % and 5 % from each side',
    stored: async (image) => (await pictureSignature(image)).split(','),
    asked: async (image) => (await pictureQuery(image)).phash,
  },
  {
    name: 'pHash of the object with a 4 % margin (before)',
    ...single(async (image) => pHash64(await objectPicture(image, WHITE, 0.04))),
  },
  {
    name: 'pHash of the object cut at its box, alone',
    ...single(async (image) => pHash64(await objectPicture(image))),
  },
  { name: 'pHash of the object on grey', ...single(async (image) => pHash64(await objectPicture(image, GREY, 0.04))) },
  {
    name: 'dHash of the object on white',
    ...single(async (image) => dHash64(await objectPicture(image, WHITE, 0.04))),
  },
  {
    name: 'pHash of the whole picture on grey',
    ...single(async (image) => {
      const { data, info } = await sharp(image)
        .flatten({ background: { r: 128, g: 128, b: 128 } })
        .raw()
        .toBuffer({ resolveWithObject: true })
      return pHash64({ data, width: info.width, height: info.height })
    }),
  },
]

/** The family of a variant, for recall by family: what was done to the picture, without its amount. */
function familyOf(variant: string): string {
  if (variant.includes('into the object')) return 'cropped into the object (1–5 %), lossy WebP'
  if (variant.includes('two sides')) return 'cropped on two sides (3–5 %), lossy WebP'
  if (variant.startsWith('cropped')) return 'cropped on one side (1–5 %), lossy WebP'
  if (variant.startsWith('resized')) return 'resized (50–90 %)'
  if (variant.startsWith('JPEG')) return 'JPEG on white (quality 60–95)'
  if (variant.startsWith('brightness')) return 'brightness ±5 %'
  return variant
}

function familiesOf(found: { variant: string; distance: number }[]) {
  const families = new Map<string, number[]>()
  for (const { variant, distance } of found) {
    const family = familyOf(variant)
    families.set(family, [...(families.get(family) ?? []), distance])
  }
  return [...families].map(([family, distances]) => ({
    family,
    count: distances.length,
    recall: distances.filter((d) => d <= THRESHOLD).length / distances.length,
    farthest: Math.max(...distances),
  }))
}

const distance = (a: string, b: string): number => hammingDistance(parseHash64(a) as never, parseHash64(b) as never)

/** Lookup time in one parameter group of `entries` random signatures (the worst case: every entry shares the parameters). */
function lookupTimes(entries: number): { meanUs: number; p99Us: number } {
  const random = rng(entries)
  const index = new SimilarityIndex()
  const word = (): number => Math.floor(random() * 2 ** 32) >>> 0
  // Each entry is indexed by its signature: one hash, and one per crop share and side.
  const perEntry = 1 + CROP_SHARES.length * 4
  for (let i = 0; i < entries; i++)
    index.add(
      `k${i}`,
      'group',
      Array.from({ length: perEntry }, () => ({ hi: word(), lo: word() })),
    )
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
    const box = await objectBox(original.bytes)
    for (const variant of VARIANTS) {
      const bytes = new Uint8Array(await variant.make(sharp(original.bytes), size, box).toBuffer())
      variants.push({ of: original.name, variant: variant.name, bytes })
    }
    mirrored.push({ of: original.name, bytes: new Uint8Array(await sharp(original.bytes).flop().toBuffer()) })
  }

  const results = []
  for (const candidate of CANDIDATES) {
    const storedOf = new Map<string, string[]>()
    const askedOf = new Map<string, string>()
    for (const o of originals) {
      storedOf.set(o.name, await candidate.stored(o.bytes))
      askedOf.set(o.name, await candidate.asked(o.bytes))
    }
    /** How far a picture asked for lies from a stored one: the nearest of its hashes. */
    const apart = (asked: string, stored: string): number =>
      Math.min(...(storedOf.get(stored) as string[]).map((hash) => distance(asked, hash)))
    const found = await Promise.all(
      variants.map(async (v) => ({ ...v, distance: apart(await candidate.asked(v.bytes), v.of) })),
    )
    const recall = found.filter((f) => f.distance <= THRESHOLD).length / found.length
    const missed = found.filter((f) => f.distance > THRESHOLD).map((f) => `${f.of}: ${f.variant} (${f.distance})`)
    // Every ordered pair of different objects: each looked up against the other stored.
    const pairs: { a: string; b: string; distance: number }[] = []
    for (const { name: a } of originals)
      for (const { name: b } of originals)
        if (a !== b) pairs.push({ a, b, distance: apart(askedOf.get(a) as string, b) })
    const mirrors = await Promise.all(
      mirrored.map(async (m) => ({
        a: m.of,
        b: 'its mirror image',
        distance: apart(await candidate.asked(m.bytes), m.of),
      })),
    )
    const falseMatches = [...pairs, ...mirrors].filter((p) => p.distance <= THRESHOLD)
    results.push({
      candidate: candidate.name,
      recall,
      variants: found.length,
      missed,
      falseMatches: falseMatches.map((p) => `${p.a} ~ ${p.b} (${p.distance})`),
      found: found.map(({ variant, distance }) => ({ variant, distance })),
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
    markdownTable(
      ['variant family (hash in use)', 'pictures', 'recall', 'farthest (bits)'],
      familiesOf(chosen.found).map((f) => [f.family, f.count, `${fmt(f.recall * 100, 1)}%`, f.farthest]),
    ),
    '',
    `Variants not found by the hash in use: ${chosen.missed.length === 0 ? 'none' : chosen.missed.join('; ')}.`,
  ].join('\n')
  return { name: 'similar', table, data: { threshold: THRESHOLD, results, lookup } }
}
