import { Document, NodeIO } from '@gltf-transform/core'
import sharp from 'sharp'
import type { BufferGeometry, Mesh } from 'three'
import { unzipSync } from 'three/examples/jsm/libs/fflate.module.js'
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js'
import { describe, expect, it } from 'vitest'
import { exportModel } from '../../../src/core/export/model-export'
import { writeGlb } from '../../../src/core/generation/builtin/glb'
import { EXPORT_FORMATS } from '../../../src/shared/export-formats'

/** A grid of `n` × `n` quads (2n² triangles), indexed, with UVs: the shape of a generated mesh. */
function grid(n: number) {
  const positions: number[] = []
  const uvs: number[] = []
  const normals: number[] = []
  const indices: number[] = []
  for (let y = 0; y <= n; y++)
    for (let x = 0; x <= n; x++) {
      positions.push(x / n, y / n, Math.sin(x + y) / 10)
      uvs.push(x / n, y / n)
      normals.push(0, 0, 1)
    }
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const a = y * (n + 1) + x
      indices.push(a, a + 1, a + n + 2, a, a + n + 2, a + n + 1)
    }
  return {
    positions: new Float32Array(positions),
    normals: new Float32Array(normals),
    uvs: new Float32Array(uvs),
    indices: new Uint32Array(indices),
  }
}

const TRIANGLES = 2 * 7 * 7

async function texturedGlb(): Promise<{ glb: Uint8Array; png: Uint8Array }> {
  const png = new Uint8Array(
    await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 200, g: 30, b: 10 } } })
      .png()
      .toBuffer(),
  )
  return { glb: await writeGlb(grid(7), { texture: png, extras: {} }), png }
}

/** The same grid without material or texture, in two placed nodes (the second moved aside). */
async function untexturedGlb(): Promise<Uint8Array> {
  const doc = new Document()
  const buffer = doc.createBuffer()
  const { positions, indices } = grid(7)
  const mesh = doc
    .createMesh()
    .addPrimitive(
      doc
        .createPrimitive()
        .setAttribute('POSITION', doc.createAccessor().setType('VEC3').setArray(positions).setBuffer(buffer))
        .setIndices(doc.createAccessor().setType('SCALAR').setArray(indices).setBuffer(buffer)),
    )
  const scene = doc.createScene()
  scene.addChild(doc.createNode('a').setMesh(mesh))
  scene.addChild(doc.createNode('b').setMesh(mesh).setTranslation([5, 0, 0]))
  return new NodeIO().writeBinary(doc)
}

const decoded = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

describe('exportModel', () => {
  it("keeps the GLB's triangles in every format", async () => {
    const { glb } = await texturedGlb()
    for (const format of EXPORT_FORMATS) {
      const [model] = await exportModel(glb, format, 'chair')
      expect(model?.name).toBe(`chair.${format}`)
      const bytes = model?.bytes as Uint8Array
      if (format === 'stl') expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(80, true)).toBe(TRIANGLES)
      if (format === 'ply') expect(decoded(bytes.subarray(0, 400))).toContain(`element face ${TRIANGLES}\n`)
      if (format === 'obj') expect(decoded(bytes).match(/^f /gm)).toHaveLength(TRIANGLES)
      if (format === 'usdz') {
        // The exporter writes each geometry as its own layer, referenced from model.usda.
        const layers = Object.entries(unzipSync(bytes)).filter(([name]) => name.startsWith('geometries/'))
        const counts = layers.flatMap(([, layer]) =>
          [...decoded(layer).matchAll(/faceVertexCounts = \[([^\]]*)\]/g)].flatMap((m) => (m[1] ?? '').split(',')),
        )
        expect(counts).toHaveLength(TRIANGLES)
        expect(new Set(counts.map((c) => c.trim()))).toEqual(new Set(['3']))
      }
    }
  })

  it('writes a textured OBJ with its MTL and the texture, and three’s OBJLoader reads it back', async () => {
    const { glb, png } = await texturedGlb()
    const files = await exportModel(glb, 'obj', 'chair')
    expect(files.map((f) => [f.name, f.contentType])).toEqual([
      ['chair.obj', 'model/obj'],
      ['chair.mtl', 'model/mtl'],
      ['chair.png', 'image/png'],
    ])
    const [obj, mtl, texture] = files.map((f) => f.bytes) as [Uint8Array, Uint8Array, Uint8Array]
    expect(decoded(obj)).toMatch(/^mtllib chair\.mtl\n/)
    expect(decoded(mtl)).toContain('map_Kd chair.png')
    expect(Buffer.from(texture).equals(Buffer.from(png))).toBe(true)
    const loaded = new OBJLoader().parse(decoded(obj))
    const meshes = loaded.children as Mesh[]
    const vertices = meshes.reduce(
      (sum, mesh) => sum + ((mesh.geometry as BufferGeometry).attributes.position?.count ?? 0),
      0,
    )
    expect(vertices / 3).toBe(TRIANGLES)
    expect(meshes[0]?.geometry.attributes.uv?.count).toBe(TRIANGLES * 3)
    // The drop-in answers one file: the OBJ without a library it cannot send.
    const [alone] = await exportModel(glb, 'obj', 'model', { withTexture: false })
    expect(decoded(alone?.bytes as Uint8Array)).not.toContain('mtllib')
  })

  it('writes USDZ as a zip whose first file is a USD layer, carrying the texture unchanged', async () => {
    const { glb, png } = await texturedGlb()
    const [usdz] = await exportModel(glb, 'usdz', 'chair')
    const bytes = usdz?.bytes as Uint8Array
    // A zip (PK\x03\x04) that starts with the layer, as USDZ requires.
    expect([...bytes.subarray(0, 4)]).toEqual([0x50, 0x4b, 0x03, 0x04])
    expect(decoded(bytes.subarray(30, 30 + 'model.usda'.length))).toBe('model.usda')
    const entries = unzipSync(bytes)
    expect(decoded(entries['model.usda'] as Uint8Array)).toMatch(/^#usda 1\.0/)
    const textures = Object.keys(entries).filter((name) => name.startsWith('textures/'))
    expect(textures).toHaveLength(1)
    expect(Buffer.from(entries[textures[0] as string] as Uint8Array).equals(Buffer.from(png))).toBe(true)
    // The canvas stand-in is gone once the export is done.
    expect('document' in globalThis).toBe(false)
  })

  it('places every node by its transform, and writes an untextured model without MTL or texture', async () => {
    const glb = await untexturedGlb()
    const files = await exportModel(glb, 'obj', 'two')
    expect(files).toHaveLength(1)
    const loaded = new OBJLoader().parse(decoded(files[0]?.bytes as Uint8Array))
    const boxes = (loaded.children as Mesh[]).map((mesh) => {
      mesh.geometry.computeBoundingBox()
      return mesh.geometry.boundingBox?.min.x
    })
    expect(boxes).toEqual([0, 5])
    const [usdz] = await exportModel(glb, 'usdz', 'two')
    expect(Object.keys(unzipSync(usdz?.bytes as Uint8Array)).some((n) => n.startsWith('textures/'))).toBe(false)
  })
})
