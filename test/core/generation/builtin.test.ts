import { NodeIO } from '@gltf-transform/core'
import validator from 'gltf-validator'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { BuiltinGenerator } from '../../../src/core/generation/builtin/builtin-generator'
import { segment } from '../../../src/core/generation/builtin/mask'
import { reconstruct } from '../../../src/core/generation/builtin/reconstruct'
import type { GenerateProgress } from '../../../src/core/generation/generator'
import { decodeRgba } from '../../../src/core/generation/image-input'
import { QUALITIES } from '../../../src/shared/contract'
import { AppError } from '../../../src/shared/errors'
import { BUILTIN_WORKER, diskPng, FIXTURE_NAMES, fixture, solidPng } from '../../support/fixtures'

async function bounds(glb: Uint8Array): Promise<{ min: number[]; max: number[] }> {
  const doc = await new NodeIO().readBinary(glb)
  const position = doc.getRoot().listMeshes()[0]?.listPrimitives()[0]?.getAttribute('POSITION')
  if (!position) throw new Error('no POSITION attribute')
  return { min: position.getMin([]), max: position.getMax([]) }
}

/** Aspect ratio (width / height) of the object in the picture, found independently of the generator. */
async function objectAspect(image: Uint8Array): Promise<number> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  const opaque = data.some((_, i) => i % 4 === 3 && (data[i] as number) < 128)
  let [x0, y0, x1, y1] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, -1, -1]
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 4
      // Cut-out pictures: alpha. The opaque teapot: far from its grey background.
      const inside = opaque
        ? (data[i + 3] as number) >= 128
        : Math.abs((data[i] as number) - (data[i + 2] as number)) > 40
      if (inside) {
        x0 = Math.min(x0, x)
        y0 = Math.min(y0, y)
        x1 = Math.max(x1, x)
        y1 = Math.max(y1, y)
      }
    }
  }
  return (x1 - x0 + 1) / (y1 - y0 + 1)
}

describe('builtin reconstruction', () => {
  it.each(FIXTURE_NAMES)('%s: valid GLB at every quality, silhouette aspect kept, detail grows', async (name) => {
    const image = fixture(name)
    const aspect = await objectAspect(image)
    const vertexCounts: number[] = []
    for (const quality of QUALITIES) {
      const model = await reconstruct(image, quality)
      const report = await validator.validateBytes(model.glb)
      expect(report.issues.numErrors, JSON.stringify(report.issues.messages.slice(0, 3))).toBe(0)
      const { min, max } = await bounds(model.glb)
      const [w, h, d] = [0, 1, 2].map((k) => (max[k] as number) - (min[k] as number)) as [number, number, number]
      expect(Math.max(w, h)).toBeLessThanOrEqual(1.0001)
      expect(w / h).toBeGreaterThan(aspect * 0.9)
      expect(w / h).toBeLessThan(aspect * 1.1)
      expect(d).toBeGreaterThan(0.05) // inflated, not flat
      vertexCounts.push(model.vertices ?? 0)
    }
    expect(vertexCounts[1]).toBeGreaterThan((vertexCounts[0] as number) * 2)
    expect(vertexCounts[2]).toBeGreaterThan((vertexCounts[1] as number) * 2)
  })

  it('is deterministic: the same request gives a byte-identical GLB', async () => {
    const image = fixture('triposr-robot')
    const a = await reconstruct(image, 'draft')
    const b = await reconstruct(new Uint8Array(image), 'draft')
    expect(Buffer.compare(Buffer.from(a.glb), Buffer.from(b.glb))).toBe(0)
  })

  it('inflates a disk into a round body about as deep as it is wide', async () => {
    const model = await reconstruct(await diskPng(96), 'draft')
    const { min, max } = await bounds(model.glb)
    const width = (max[0] as number) - (min[0] as number)
    const depth = (max[2] as number) - (min[2] as number)
    expect(depth / width).toBeGreaterThan(0.8)
    expect(depth / width).toBeLessThan(1.2)
  })

  it('keys out an opaque background and keeps enclosed background holes open (teapot handle)', async () => {
    const grid = await decodeRgba(fixture('triposr-teapot'), 192)
    const mask = segment(grid)
    expect(mask.source).toBe('keyed')
    // The handle's inside is background fully enclosed by the object.
    const { data, width, height } = mask
    const seen = new Uint8Array(data.length)
    let enclosedHoles = 0
    for (let start = 0; start < data.length; start++) {
      if (data[start] || seen[start]) continue
      let border = false
      let size = 0
      const stack = [start]
      seen[start] = 1
      while (stack.length) {
        const i = stack.pop() as number
        size++
        const x = i % width
        const y = (i - x) / width
        if (x === 0 || y === 0 || x === width - 1 || y === height - 1) border = true
        for (const j of [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, i - width, i + width]) {
          if (j >= 0 && j < data.length && !data[j] && !seen[j]) {
            seen[j] = 1
            stack.push(j)
          }
        }
      }
      if (!border && size > 20) enclosedHoles++
    }
    expect(enclosedHoles).toBeGreaterThanOrEqual(1)
  })

  it.each([
    ['fully transparent', [0, 0, 0, 0]],
    ['uniform opaque', [120, 200, 40, 255]],
  ] as const)('says "no object found" for a %s image', async (_name, rgba) => {
    const image = await solidPng(64, 64, [...rgba])
    await expect(reconstruct(image, 'draft')).rejects.toMatchObject({ code: 'NO_OBJECT' })
    await expect(reconstruct(image, 'draft')).rejects.toThrow(/No object was found/)
  })

  it('reports progress through the stages in order', async () => {
    const stages: string[] = []
    await reconstruct(fixture('triposr-chair'), 'draft', { onProgress: (p) => stages.push(p.stage) })
    const order = [...new Set(stages)]
    expect(order).toEqual(['decoding', 'segmenting', 'inflating', 'meshing', 'encoding', 'done'])
  })

  it('stops between stages when its signal aborts', async () => {
    const controller = new AbortController()
    const run = reconstruct(fixture('triposr-chair'), 'draft', {
      signal: controller.signal,
      onProgress: (p) => p.stage === 'segmenting' && controller.abort(),
    })
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
  })
})

describe('BuiltinGenerator (worker thread)', () => {
  const generator = new BuiltinGenerator({ workerPath: BUILTIN_WORKER })
  const input = { image: fixture('triposr-hamburger'), prompt: '', quality: 'draft' as const, seed: 1, texture: false }

  it('generates in a worker with progress, byte-identical to the in-process run', async () => {
    const progress: GenerateProgress[] = []
    const model = await generator.generate(input, {
      signal: new AbortController().signal,
      onProgress: (p) => progress.push(p),
    })
    const direct = await reconstruct(input.image, 'draft')
    expect(Buffer.compare(Buffer.from(model.glb), Buffer.from(direct.glb))).toBe(0)
    expect(progress.at(-1)).toEqual({ stage: 'done', fraction: 1 })
    expect(progress.map((p) => p.fraction)).toEqual([...progress.map((p) => p.fraction)].sort((a, b) => a - b))
  })

  it('passes errors from the worker through with their code', async () => {
    const blank = await solidPng(32, 32, [0, 0, 0, 0])
    await expect(
      generator.generate({ ...input, image: blank }, { signal: new AbortController().signal }),
    ).rejects.toMatchObject({ code: 'NO_OBJECT' })
  })

  it('cancels mid-run: the worker stops and the promise rejects', async () => {
    const controller = new AbortController()
    const run = generator.generate(
      { ...input, image: fixture('trellis-lantern'), quality: 'high' },
      { signal: controller.signal, onProgress: (p) => p.stage === 'inflating' && controller.abort() },
    )
    await expect(run).rejects.toBeInstanceOf(AppError)
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' })
    await expect(generator.generate(input, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'CANCELLED',
    })
  })

  it('describes itself and names what decides its output', async () => {
    expect(await generator.describe()).toMatchObject({ available: true, gpu: false })
    const high = await generator.keyParams({ quality: 'high', seed: 1, texture: false })
    expect(high).toMatchObject({ gridSide: 384 })
    // The seed and texture do not change what it makes, so they are not in its key.
    expect(await generator.keyParams({ quality: 'high', seed: 2, texture: true })).toEqual(high)
  })
})
