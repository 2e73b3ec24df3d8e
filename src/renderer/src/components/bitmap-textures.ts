import { Texture } from 'three'
import type { GLTFLoader, GLTFParser } from 'three/examples/jsm/loaders/GLTFLoader.js'

/**
 * Decodes a GLB's embedded textures with createImageBitmap straight from their bytes, where
 * GLTFLoader would make a blob: URL and fetch it. Two reasons: the page's CSP is 'self' only
 * (a blob: fetch is refused), and createImageBitmap decodes off the main thread, so a large
 * texture does not hold up the first frame. Textures given by URI keep GLTFLoader's own path.
 */
export function decodeTexturesAsBitmaps(loader: GLTFLoader): GLTFLoader {
  return loader.register((parser: GLTFParser) => {
    const loadImageSource = parser.loadImageSource.bind(parser)
    const decoded = new Map<number, Promise<Texture>>()
    parser.loadImageSource = (sourceIndex, fallback) => {
      const source = (parser.json.images as { bufferView?: number; mimeType?: string }[])[sourceIndex]
      if (source?.bufferView === undefined) return loadImageSource(sourceIndex, fallback)
      let texture = decoded.get(sourceIndex)
      if (!texture) {
        texture = (parser.getDependency('bufferView', source.bufferView) as Promise<ArrayBuffer>)
          .then((view) =>
            createImageBitmap(new Blob([view], { type: source.mimeType }), {
              // As GLTFLoader's own ImageBitmapLoader: glTF's UVs are top-down, colours as stored.
              imageOrientation: 'none',
              premultiplyAlpha: 'none',
              colorSpaceConversion: 'none',
            }),
          )
          .then((bitmap) => {
            const made = new Texture(bitmap)
            made.userData.mimeType = source.mimeType
            made.needsUpdate = true
            return made
          })
        decoded.set(sourceIndex, texture)
      }
      // One decode per image; each texture that uses it gets its own sampler settings.
      return texture.then((made) => made.clone())
    }
    return { name: 'MESHCACHE_bitmap_textures' }
  })
}
