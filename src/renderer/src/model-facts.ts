import { type BufferGeometry, type Material, Mesh, type Object3D, type Texture } from 'three'

/** What the preview and the compare view say about a mesh. */
export interface ModelFacts {
  triangles: number
  vertices: number
  /** The largest base-colour texture, when there is one. */
  texture?: { width: number; height: number }
}

function triangleCount(geometry: BufferGeometry): number {
  const count = geometry.index?.count ?? geometry.attributes.position?.count ?? 0
  return Math.floor(count / 3)
}

/** Counts a parsed model's triangles and vertices, and finds its texture's size. */
export function modelFacts(scene: Object3D): ModelFacts {
  const facts: ModelFacts = { triangles: 0, vertices: 0 }
  scene.traverse((object) => {
    if (!(object instanceof Mesh)) return
    const geometry = object.geometry as BufferGeometry
    facts.triangles += triangleCount(geometry)
    facts.vertices += geometry.attributes.position?.count ?? 0
    const materials = (Array.isArray(object.material) ? object.material : [object.material]) as Material[]
    for (const material of materials) {
      const image = (material as Material & { map?: Texture | null }).map?.image as
        | { width?: number; height?: number }
        | undefined
      const { width = 0, height = 0 } = image ?? {}
      if (width * height > (facts.texture?.width ?? 0) * (facts.texture?.height ?? 0)) facts.texture = { width, height }
    }
  })
  return facts
}

/** "12,345 triangles · 6,789 vertices · texture 1024 × 1024". */
export function describeFacts(facts: ModelFacts): string {
  const parts = [
    `${facts.triangles.toLocaleString('en')} triangles`,
    `${facts.vertices.toLocaleString('en')} vertices`,
    facts.texture ? `texture ${facts.texture.width} × ${facts.texture.height}` : 'no texture',
  ]
  return parts.join(' · ')
}
