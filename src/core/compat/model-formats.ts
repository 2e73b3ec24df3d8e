import { NodeIO } from '@gltf-transform/core'
import { BufferAttribute, BufferGeometry, Matrix4, Mesh, Scene } from 'three'
import { OBJExporter } from 'three/examples/jsm/exporters/OBJExporter.js'
import { PLYExporter } from 'three/examples/jsm/exporters/PLYExporter.js'
import { STLExporter } from 'three/examples/jsm/exporters/STLExporter.js'

/**
 * The model formats Hunyuan3D-2's /generate answers (`type`, any format trimesh writes; its
 * clients use these four). MeshCache keeps one GLB per request and writes the others from it
 * with three.js's exporters, so asking for an STL after a GLB costs no GPU time.
 */
export const MODEL_TYPES = ['glb', 'obj', 'ply', 'stl'] as const
export type ModelType = (typeof MODEL_TYPES)[number]

export const MODEL_CONTENT_TYPES: Record<ModelType, string> = {
  glb: 'model/gltf-binary',
  obj: 'model/obj',
  ply: 'application/x-ply',
  stl: 'model/stl',
}

const TRIANGLES = 4

/** The GLB's triangle meshes as a three.js scene, each placed by its node's world matrix. */
async function sceneOf(glb: Uint8Array): Promise<Scene> {
  const document = await new NodeIO().readBinary(glb)
  const scene = new Scene()
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
      const placed = new Mesh(geometry)
      placed.applyMatrix4(new Matrix4().fromArray(node.getWorldMatrix()))
      scene.add(placed)
    }
  }
  scene.updateMatrixWorld(true)
  return scene
}

/** The model in the asked format: the GLB itself, or its meshes written as OBJ, PLY or STL (binary). */
export async function convertModel(glb: Uint8Array, type: ModelType): Promise<Uint8Array> {
  if (type === 'glb') return glb
  const scene = await sceneOf(glb)
  if (type === 'obj') return new TextEncoder().encode(new OBJExporter().parse(scene))
  if (type === 'stl') {
    const view = new STLExporter().parse(scene, { binary: true }) as DataView
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  }
  // Without a callback the exporter answers at once (with one, it waits for an animation frame, which Node lacks).
  const ply = new PLYExporter().parse(scene, undefined as never, { binary: true }) as ArrayBuffer
  return new Uint8Array(ply)
}
