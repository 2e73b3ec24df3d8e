import { type Texture as GltfTexture, NodeIO } from '@gltf-transform/core'
import sharp from 'sharp'
import {
  BufferAttribute,
  BufferGeometry,
  Matrix4,
  Mesh,
  MeshStandardMaterial,
  Scene,
  SRGBColorSpace,
  Texture,
} from 'three'
import { OBJExporter } from 'three/examples/jsm/exporters/OBJExporter.js'
import { PLYExporter } from 'three/examples/jsm/exporters/PLYExporter.js'
import { STLExporter } from 'three/examples/jsm/exporters/STLExporter.js'
import { USDZExporter } from 'three/examples/jsm/exporters/USDZExporter.js'
import { EXPORT_FORMATS, type ExportFormat } from '../../shared/export-formats'
import { type EncodedImage, withTextureStandIn } from './texture-stand-in'

/**
 * The one place a cached GLB becomes another format: the app's Save as, the browser host's
 * `/models/<key>.<ext>` and the Hunyuan3D drop-in's `type` all come here. MeshCache keeps one
 * GLB per request and writes the others from it with three.js's exporters, so asking for an
 * STL after a GLB costs no GPU time. Every format keeps the GLB's triangles; OBJ (with its MTL)
 * and USDZ carry the base-colour texture, GLB keeps everything, STL and PLY carry none.
 */

export interface ExportedFile {
  /** `<base>.<ext>`: the model first, then what it refers to (an OBJ's MTL and texture). */
  name: string
  bytes: Uint8Array
  contentType: string
}

export const CONTENT_TYPES: Record<string, string> = {
  glb: 'model/gltf-binary',
  obj: 'model/obj',
  mtl: 'model/mtl',
  ply: 'application/x-ply',
  stl: 'model/stl',
  usdz: 'model/vnd.usdz+zip',
  png: 'image/png',
  jpg: 'image/jpeg',
}

const TRIANGLES = 4
const MATERIAL = 'meshcache_surface'

interface ModelScene {
  scene: Scene
  /** The first base-colour texture, as PNG or JPEG. */
  texture?: EncodedImage & { extension: 'png' | 'jpg' }
}

/** A texture's image as PNG or JPEG (what OBJ viewers and USDZ read); WebP and others become PNG. */
async function encodedTexture(texture: GltfTexture): Promise<ModelScene['texture']> {
  const image = texture.getImage()
  if (!image) return undefined
  const { width = 0, height = 0, format } = await sharp(image).metadata()
  if (format === 'jpeg') return { width, height, bytes: image, extension: 'jpg' }
  if (format === 'png') return { width, height, bytes: image, extension: 'png' }
  return { width, height, bytes: new Uint8Array(await sharp(image).png().toBuffer()), extension: 'png' }
}

/** The GLB's triangle meshes as a three.js scene, each placed by its node's world matrix. */
async function sceneOf(glb: Uint8Array): Promise<ModelScene> {
  const document = await new NodeIO().readBinary(glb)
  const scene = new Scene()
  let texture: ModelScene['texture']
  const material = new MeshStandardMaterial({ name: MATERIAL })
  for (const node of document.getRoot().listNodes()) {
    const mesh = node.getMesh()
    if (!mesh) continue
    for (const primitive of mesh.listPrimitives()) {
      const position = primitive.getAttribute('POSITION')
      if (primitive.getMode() !== TRIANGLES || !position) continue
      const geometry = new BufferGeometry()
      geometry.setAttribute('position', new BufferAttribute(position.getArray() as Float32Array, 3))
      const normal = primitive.getAttribute('NORMAL')
      if (normal) geometry.setAttribute('normal', new BufferAttribute(normal.getArray() as Float32Array, 3))
      const uv = primitive.getAttribute('TEXCOORD_0')
      if (uv) geometry.setAttribute('uv', new BufferAttribute(uv.getArray() as Float32Array, 2))
      const indices = primitive.getIndices()?.getArray()
      if (indices) geometry.setIndex(new BufferAttribute(indices, 1))
      const baseColor = primitive.getMaterial()?.getBaseColorTexture()
      if (!texture && baseColor && uv) texture = await encodedTexture(baseColor)
      const placed = new Mesh(geometry, material)
      placed.name = mesh.getName() || node.getName() || 'model'
      placed.applyMatrix4(new Matrix4().fromArray(node.getWorldMatrix()))
      scene.add(placed)
    }
  }
  scene.updateMatrixWorld(true)
  return { scene, texture }
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const file = (name: string, bytes: Uint8Array): ExportedFile => ({
  name,
  bytes,
  contentType: CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
})

/**
 * OBJ text naming its MTL and material when there is a texture: three's OBJExporter writes
 * neither, so the `usemtl` goes after each object line and the `mtllib` first.
 */
function objFiles(model: ModelScene, base: string, withTexture: boolean): ExportedFile[] {
  const obj = new OBJExporter().parse(model.scene)
  const texture = withTexture ? model.texture : undefined
  if (!texture) return [file(`${base}.obj`, text(obj))]
  const image = `${base}.${texture.extension}`
  const named = `mtllib ${base}.mtl\n${obj.replace(/^o .*$/gm, (line) => `${line}\nusemtl ${MATERIAL}`)}`
  const mtl = `newmtl ${MATERIAL}\nKa 0 0 0\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd ${image}\n`
  return [file(`${base}.obj`, text(named)), file(`${base}.mtl`, text(mtl)), file(image, texture.bytes)]
}

async function usdzFile(model: ModelScene, base: string): Promise<ExportedFile> {
  const usdz = await withTextureStandIn(async (bitmap) => {
    const { texture } = model
    let maxTextureSize = 1
    if (texture) {
      const map = new Texture(bitmap(texture) as unknown as Texture['image'])
      map.flipY = false
      map.colorSpace = SRGBColorSpace
      map.userData.mimeType = texture.extension === 'jpg' ? 'image/jpeg' : 'image/png'
      maxTextureSize = Math.max(texture.width, texture.height)
      for (const child of model.scene.children) if (child instanceof Mesh) child.material.map = map
    }
    // The stand-in canvas passes the encoded image through: the exporter must never scale it.
    return new USDZExporter().parseAsync(model.scene, { maxTextureSize, quickLookCompatible: true })
  })
  return file(`${base}.usdz`, usdz)
}

/**
 * The model in a format, as the files it takes: the model first, then for a textured OBJ its
 * MTL and texture (named from `base`). `withTexture: false` writes the OBJ alone (the
 * Hunyuan3D drop-in answers one file).
 */
export async function exportModel(
  glb: Uint8Array,
  format: ExportFormat,
  base: string,
  { withTexture = true } = {},
): Promise<ExportedFile[]> {
  if (format === 'glb') return [file(`${base}.glb`, glb)]
  const model = await sceneOf(glb)
  if (format === 'obj') return objFiles(model, base, withTexture)
  if (format === 'usdz') return [await usdzFile(model, base)]
  if (format === 'stl') {
    const view = new STLExporter().parse(model.scene, { binary: true }) as DataView
    return [file(`${base}.stl`, new Uint8Array(view.buffer, view.byteOffset, view.byteLength))]
  }
  // Without a callback the exporter answers at once (with one, it waits for an animation frame, which Node lacks).
  const ply = new PLYExporter().parse(model.scene, undefined as never, { binary: true }) as ArrayBuffer
  return [file(`${base}.ply`, new Uint8Array(ply))]
}

/** The format whose export includes a file of this extension (an MTL or texture belongs to an OBJ). */
export function formatOfExtension(extension: string): ExportFormat | undefined {
  if (extension === 'mtl' || extension === 'png' || extension === 'jpg') return 'obj'
  return (EXPORT_FORMATS as readonly string[]).includes(extension) ? (extension as ExportFormat) : undefined
}
