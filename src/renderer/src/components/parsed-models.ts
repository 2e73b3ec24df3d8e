import type { Material, Texture } from 'three'
import { Mesh } from 'three'
import { type GLTF, GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js'
import { decodeTexturesAsBitmaps } from './bitmap-textures'

/** Parsed models kept ready in the renderer: going back to one is a swap, not a download and a parse. */
export const MAX_PARSED_MODELS = 12
export const MAX_PARSED_BYTES = 256 * 1024 * 1024
/** A model whose size is not known counts as this much. */
const UNKNOWN_BYTES = 8 * 1024 * 1024

const loader = decodeTexturesAsBitmaps(new GLTFLoader())
/** Most recent last: url → the GLB's size and its parsed model. */
const shown = new Map<string, { bytes: number; gltf: GLTF }>()
/** Loads under way, so two asks for one model make one download and one parse. */
const loading = new Map<string, Promise<GLTF>>()

/**
 * The parsed model at `url`: the kept one, or a load. Loaded outside React on purpose: a
 * component that suspends on a load has its reveal held back by React's Suspense throttle
 * (300 ms after a fallback shows), which the profile found to be most of the wait between
 * a cached model's bytes arriving and its first frame.
 */
export function loadModel(url: string): Promise<GLTF> {
  const kept = shown.get(url)
  if (kept) return Promise.resolve(kept.gltf)
  let load = loading.get(url)
  if (!load) {
    load = loader.loadAsync(url).finally(() => loading.delete(url))
    loading.set(url, load)
  }
  return load
}

function release(gltf: GLTF): void {
  gltf.scene.traverse((object) => {
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
 * Notes that a model was shown; past the bound, the least recently shown ones are dropped and
 * their GPU memory is freed. The model on screen is always the most recent, so it is never
 * the one dropped.
 */
export function rememberShown(url: string, bytes: number | undefined, gltf: GLTF): void {
  shown.delete(url)
  shown.set(url, { bytes: bytes ?? UNKNOWN_BYTES, gltf })
  let total = parsedModels().bytes
  for (const [oldest, kept] of shown) {
    if (oldest === url || (shown.size <= MAX_PARSED_MODELS && total <= MAX_PARSED_BYTES)) break
    release(kept.gltf)
    shown.delete(oldest)
    total -= kept.bytes
  }
}

/** How many parsed models are kept, and their bytes. */
export function parsedModels(): { count: number; bytes: number } {
  return { count: shown.size, bytes: [...shown.values()].reduce((sum, each) => sum + each.bytes, 0) }
}
