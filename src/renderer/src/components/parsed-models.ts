import { useLoader } from '@react-three/fiber'
import type { Material, Object3D, Texture } from 'three'
import { Mesh } from 'three'
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js'

/** Parsed models kept ready in the renderer: going back to one is a swap, not a download and a parse. */
export const MAX_PARSED_MODELS = 12
export const MAX_PARSED_BYTES = 256 * 1024 * 1024
/** A model whose size is not known counts as this much. */
const UNKNOWN_BYTES = 8 * 1024 * 1024

/** Most recent last: url → the GLB's size and its parsed scene. */
const shown = new Map<string, { bytes: number; scene: Object3D }>()

function release(scene: Object3D): void {
  scene.traverse((object) => {
    if (!(object instanceof Mesh)) return
    object.geometry.dispose()
    for (const material of (Array.isArray(object.material) ? object.material : [object.material]) as Material[]) {
      for (const value of Object.values(material))
        if ((value as Texture | null)?.isTexture) (value as Texture).dispose()
      material.dispose()
    }
  })
}

/**
 * Notes that a model was shown; past the bound, the least recently shown ones leave
 * react-three-fiber's loader cache (which alone would keep every model ever shown) and their
 * GPU memory is freed. The model on screen is always the most recent, so it is never the one dropped.
 */
export function rememberShown(url: string, bytes: number | undefined, scene: Object3D): void {
  shown.delete(url)
  shown.set(url, { bytes: bytes ?? UNKNOWN_BYTES, scene })
  let total = parsedModels().bytes
  for (const [oldest, kept] of shown) {
    if (oldest === url || (shown.size <= MAX_PARSED_MODELS && total <= MAX_PARSED_BYTES)) break
    useLoader.clear(GLTFLoader, oldest)
    release(kept.scene)
    shown.delete(oldest)
    total -= kept.bytes
  }
}

/** How many parsed models are kept, and their bytes. */
export function parsedModels(): { count: number; bytes: number } {
  return { count: shown.size, bytes: [...shown.values()].reduce((sum, each) => sum + each.bytes, 0) }
}
