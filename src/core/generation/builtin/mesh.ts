import type { Mask } from './mask'

export interface MeshData {
  positions: Float32Array
  normals: Float32Array
  uvs: Float32Array
  indices: Uint32Array
}

/**
 * Turns a mask and its height field into a closed two-sided surface. Vertices sit on pixel
 * corners: a corner inside the object gets a front vertex (+h) and a mirrored back vertex
 * (-h); a corner on the silhouette gets one vertex at h = 0 shared by both sides, so front and
 * back meet on the outline with no gap. The model is centred, its longest side is 1, +Y is up
 * and the front faces +Z (glTF conventions); UVs map the image straight onto the front.
 */
export function buildMesh(mask: Mask, heights: Float32Array): MeshData {
  const { width: w, height: h, data } = mask
  const cw = w + 1
  const corners = cw * (h + 1)
  const front = new Int32Array(corners).fill(-1)
  const back = new Int32Array(corners).fill(-1)
  const depth = new Float32Array(corners)
  const inMask = (x: number, y: number): number =>
    x >= 0 && y >= 0 && x < w && y < h ? (data[y * w + x] as number) : 0

  let count = 0
  for (let cy = 0; cy <= h; cy++) {
    for (let cx = 0; cx <= w; cx++) {
      const around = inMask(cx - 1, cy - 1) + inMask(cx, cy - 1) + inMask(cx - 1, cy) + inMask(cx, cy)
      if (around === 0) continue
      const c = cy * cw + cx
      front[c] = count++
      if (around === 4) {
        back[c] = count++
        depth[c] =
          ((heights[(cy - 1) * w + cx - 1] as number) +
            (heights[(cy - 1) * w + cx] as number) +
            (heights[cy * w + cx - 1] as number) +
            (heights[cy * w + cx] as number)) /
          4
      } else {
        back[c] = front[c] as number // on the silhouette: shared, depth 0
      }
    }
  }

  const scale = 1 / Math.max(w, h)
  const positions = new Float32Array(count * 3)
  const uvs = new Float32Array(count * 2)
  for (let cy = 0; cy <= h; cy++) {
    for (let cx = 0; cx <= w; cx++) {
      const c = cy * cw + cx
      const f = front[c] as number
      if (f < 0) continue
      const x = (cx - w / 2) * scale
      const y = (h / 2 - cy) * scale
      const z = (depth[c] as number) * scale
      for (const [vertex, sign] of [
        [f, 1],
        [back[c] as number, -1],
      ] as const) {
        positions[vertex * 3] = x
        positions[vertex * 3 + 1] = y
        positions[vertex * 3 + 2] = sign * z
        uvs[vertex * 2] = cx / w
        uvs[vertex * 2 + 1] = cy / h
      }
    }
  }

  const indices = new Uint32Array(mask.area * 12)
  let n = 0
  for (let py = 0; py < h; py++) {
    for (let px = 0; px < w; px++) {
      if (!data[py * w + px]) continue
      const a = py * cw + px
      const b = a + 1
      const c = a + cw
      const d = c + 1
      // Front: counter-clockwise seen from +Z. Back: the same quads wound the other way.
      indices.set([front[a], front[c], front[b], front[b], front[c], front[d]] as number[], n)
      indices.set([back[a], back[b], back[c], back[b], back[d], back[c]] as number[], n + 6)
      n += 12
    }
  }
  return { positions, normals: vertexNormals(positions, indices), uvs, indices }
}

/** Area-weighted vertex normals from the faces around each vertex. */
function vertexNormals(positions: Float32Array, indices: Uint32Array): Float32Array {
  const normals = new Float32Array(positions.length)
  const p = (i: number, k: number): number => positions[i * 3 + k] as number
  for (let t = 0; t < indices.length; t += 3) {
    const i0 = indices[t] as number
    const i1 = indices[t + 1] as number
    const i2 = indices[t + 2] as number
    const ux = p(i1, 0) - p(i0, 0)
    const uy = p(i1, 1) - p(i0, 1)
    const uz = p(i1, 2) - p(i0, 2)
    const vx = p(i2, 0) - p(i0, 0)
    const vy = p(i2, 1) - p(i0, 1)
    const vz = p(i2, 2) - p(i0, 2)
    const nx = uy * vz - uz * vy
    const ny = uz * vx - ux * vz
    const nz = ux * vy - uy * vx
    for (const i of [i0, i1, i2]) {
      normals[i * 3] = (normals[i * 3] as number) + nx
      normals[i * 3 + 1] = (normals[i * 3 + 1] as number) + ny
      normals[i * 3 + 2] = (normals[i * 3 + 2] as number) + nz
    }
  }
  for (let i = 0; i < normals.length; i += 3) {
    const x = normals[i] as number
    const y = normals[i + 1] as number
    const z = normals[i + 2] as number
    const length = Math.hypot(x, y, z)
    if (length > 0) {
      normals[i] = x / length
      normals[i + 1] = y / length
      normals[i + 2] = z / length
    } else {
      normals[i + 2] = 1
    }
  }
  return normals
}
