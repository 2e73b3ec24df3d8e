import { Document, NodeIO } from '@gltf-transform/core'

/** A valid GLB of about `bytes` bytes: one point cloud of deterministic positions. */
export async function syntheticGlb(bytes: number): Promise<Uint8Array> {
  const doc = new Document()
  const buffer = doc.createBuffer()
  const count = Math.floor(bytes / 12)
  const positions = new Float32Array(count * 3)
  for (let i = 0; i < positions.length; i++) positions[i] = Math.sin(i * 12.9898) * 0.5
  const accessor = doc.createAccessor().setType('VEC3').setArray(positions).setBuffer(buffer)
  const prim = doc.createPrimitive().setMode(0).setAttribute('POSITION', accessor)
  doc.createScene().addChild(doc.createNode().setMesh(doc.createMesh().addPrimitive(prim)))
  return new NodeIO().writeBinary(doc)
}
