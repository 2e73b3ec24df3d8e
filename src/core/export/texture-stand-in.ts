/**
 * three.js's USDZExporter re-encodes every texture by drawing it on a canvas
 * (`imageToCanvas`: an HTMLImageElement, canvas or ImageBitmap drawn onto
 * `document.createElement('canvas')`, then `canvas.toBlob`). Node has no canvas. For the
 * duration of one export this gives it a stand-in that passes the GLB's own encoded image
 * through untouched: the export asks for a `maxTextureSize` no smaller than the image (so it
 * never scales) and glTF textures are not flipped, so what a real canvas would draw is the
 * image itself. Exports using it run one at a time, and the globals are restored after.
 */

/** An encoded image (PNG or JPEG) posing as an ImageBitmap. */
export interface EncodedImage {
  width: number
  height: number
  bytes: Uint8Array
}

class StandInBitmap implements EncodedImage {
  constructor(
    readonly width: number,
    readonly height: number,
    readonly bytes: Uint8Array,
  ) {}
}

class StandInCanvas {
  width = 0
  height = 0
  private drawn: EncodedImage | undefined
  getContext(): object {
    return {
      translate: () => undefined,
      scale: () => undefined,
      drawImage: (image: EncodedImage) => {
        this.drawn = image
      },
    }
  }
  toBlob(done: (blob: Blob | null) => void): void {
    const drawn = this.drawn
    done(drawn ? new Blob([Buffer.from(drawn.bytes)]) : null)
  }
}

let queue: Promise<unknown> = Promise.resolve()

/**
 * Runs `work` with the stand-in in place; `bitmap` makes the images it may draw. One at a
 * time: the globals are the process's.
 */
export function withTextureStandIn<T>(work: (bitmap: (image: EncodedImage) => EncodedImage) => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const scope = globalThis as Record<string, unknown>
    const saved = { ImageBitmap: scope.ImageBitmap, document: scope.document }
    scope.ImageBitmap = StandInBitmap
    scope.document = { createElement: () => new StandInCanvas() }
    try {
      return await work((image) => new StandInBitmap(image.width, image.height, image.bytes))
    } finally {
      scope.ImageBitmap = saved.ImageBitmap
      scope.document = saved.document
      if (saved.ImageBitmap === undefined) delete scope.ImageBitmap
      if (saved.document === undefined) delete scope.document
    }
  }
  const result = queue.then(run, run)
  queue = result.catch(() => undefined)
  return result
}
