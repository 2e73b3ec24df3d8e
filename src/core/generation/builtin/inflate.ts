import type { Mask } from './mask'

/**
 * Inflates a silhouette into a round height field, as Monster Mash does: solve the Poisson
 * equation ∇²u = -4 inside the mask with u = 0 on its boundary, then take h = sqrt(u). A disk
 * of radius R becomes a hemisphere of radius R; a strip keeps a round cross-section whose
 * depth follows its own width, so thin parts stay thin.
 *
 * Solved matrix-free by conjugate gradients (the 5-point Laplacian is symmetric positive
 * definite on the masked grid), on a grid padded by one pixel so neighbours need no bounds
 * checks.
 */
export function inflate(mask: Mask, onProgress?: (fraction: number) => void): Float32Array {
  const { width, height } = mask
  const pw = width + 2
  const cells = pw * (height + 2)
  const inside = new Uint8Array(cells)
  const unknowns: number[] = []
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask.data[y * width + x]) {
        const i = (y + 1) * pw + x + 1
        inside[i] = 1
        unknowns.push(i)
      }
    }
  }
  const idx = Int32Array.from(unknowns)
  const u = new Float64Array(cells)
  const r = new Float64Array(cells)
  const p = new Float64Array(cells)
  const ap = new Float64Array(cells)

  const applyLaplacian = (v: Float64Array, out: Float64Array): void => {
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number
      // Outside the mask v is 0 (never written), which is the Dirichlet boundary.
      out[i] =
        4 * (v[i] as number) -
        (v[i - 1] as number) -
        (v[i + 1] as number) -
        (v[i - pw] as number) -
        (v[i + pw] as number)
    }
  }
  const dot = (a: Float64Array, b: Float64Array): number => {
    let sum = 0
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number
      sum += (a[i] as number) * (b[i] as number)
    }
    return sum
  }

  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number
    r[i] = 4
    p[i] = 4
  }
  let rs = dot(r, r)
  const target = 1e-10 * rs
  // CG needs about as many iterations as the grid is wide; the cap keeps a bad case bounded.
  const maxIterations = 4 * Math.max(width, height) + 50
  for (let iteration = 0; iteration < maxIterations && rs > target; iteration++) {
    applyLaplacian(p, ap)
    const alpha = rs / dot(p, ap)
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number
      u[i] = (u[i] as number) + alpha * (p[i] as number)
      r[i] = (r[i] as number) - alpha * (ap[i] as number)
    }
    const next = dot(r, r)
    const beta = next / rs
    rs = next
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number
      p[i] = (r[i] as number) + beta * (p[i] as number)
    }
    if (onProgress && iteration % 16 === 0) onProgress(Math.min(0.99, iteration / (1.5 * Math.max(width, height))))
  }

  const heights = new Float32Array(width * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      heights[y * width + x] = Math.sqrt(Math.max(0, u[(y + 1) * pw + x + 1] as number))
    }
  }
  return heights
}
