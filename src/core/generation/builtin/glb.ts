import { Document, NodeIO } from '@gltf-transform/core'
import type { MeshData } from './mesh'

export interface GlbOptions {
  /** Base-colour texture (PNG bytes). */
  texture: Uint8Array
  /** Stored in the asset's extras: what made this file. */
  extras: Record<string, string | number>
}

/** Writes the mesh as a binary glTF with one textured PBR material. */
export async function writeGlb(mesh: MeshData, options: GlbOptions): Promise<Uint8Array> {
  const doc = new Document()
  doc.getRoot().getAsset().generator = 'MeshCache builtin silhouette inflation'
  doc.getRoot().setExtras(options.extras)
  const buffer = doc.createBuffer()
  const vertexCount = mesh.positions.length / 3
  const indexArray = vertexCount <= 0xffff ? Uint16Array.from(mesh.indices) : mesh.indices

  const texture = doc.createTexture('image').setImage(options.texture).setMimeType('image/png')
  const material = doc
    .createMaterial('surface')
    .setBaseColorTexture(texture)
    .setMetallicFactor(0)
    .setRoughnessFactor(0.75)
  const primitive = doc
    .createPrimitive()
    .setAttribute('POSITION', doc.createAccessor('position').setType('VEC3').setArray(mesh.positions).setBuffer(buffer))
    .setAttribute('NORMAL', doc.createAccessor('normal').setType('VEC3').setArray(mesh.normals).setBuffer(buffer))
    .setAttribute('TEXCOORD_0', doc.createAccessor('uv').setType('VEC2').setArray(mesh.uvs).setBuffer(buffer))
    .setIndices(doc.createAccessor('indices').setType('SCALAR').setArray(indexArray).setBuffer(buffer))
    .setMaterial(material)
  const node = doc.createNode('model').setMesh(doc.createMesh('model').addPrimitive(primitive))
  doc.getRoot().setDefaultScene(doc.createScene('scene').addChild(node))
  return new NodeIO().writeBinary(doc)
}
