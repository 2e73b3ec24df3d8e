import { Center, OrbitControls } from '@react-three/drei'
import { addAfterEffect, Canvas, useThree } from '@react-three/fiber'
import { Component, type ReactNode, useEffect, useState } from 'react'
import { type Material, Mesh } from 'three'
import type { GLTF } from 'three/examples/jsm/loaders/GLTFLoader.js'
import { type ModelFacts, modelFacts } from '../model-facts'
import { FitView } from './FitView'
import { loadModel, rememberShown } from './parsed-models'

function materials(mesh: Mesh): Material[] {
  return Array.isArray(mesh.material) ? mesh.material : [mesh.material]
}

function Model({
  url,
  gltf,
  bytes,
  wireframe,
  onShown,
}: {
  url: string
  gltf: GLTF
  bytes?: number
  wireframe: boolean
  onShown?: (url: string) => void
}): React.JSX.Element {
  const invalidate = useThree((state) => state.invalidate)
  useEffect(() => rememberShown(url, bytes, gltf), [url, bytes, gltf])
  // On screen means drawn: told after the first frame rendered with this model in it.
  useEffect(() => {
    const stop = addAfterEffect(() => {
      stop()
      onShown?.(url)
    })
    invalidate()
    return stop
  }, [onShown, url, invalidate])
  useEffect(() => {
    gltf.scene.traverse((object) => {
      if (object instanceof Mesh) {
        for (const material of materials(object)) {
          ;(material as Material & { wireframe?: boolean }).wireframe = wireframe
        }
      }
    })
    invalidate()
  }, [gltf, wireframe, invalidate])
  return <primitive object={gltf.scene} />
}

const NOT_SHOWN = 'The model could not be shown: it may have been removed from the cache.'

/** A model that fails while drawn (WebGL, a broken mesh) says so instead of blanking the page. */
export class DrawBoundary extends Component<{ children: ReactNode; resetKey: string }, { failed: boolean }> {
  override state = { failed: false }

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true }
  }

  override componentDidUpdate(previous: { resetKey: string }): void {
    if (previous.resetKey !== this.props.resetKey && this.state.failed) this.setState({ failed: false })
  }

  override render(): ReactNode {
    if (this.state.failed) {
      return (
        <p className="error preview-message" role="alert">
          {NOT_SHOWN}
        </p>
      )
    }
    return this.props.children
  }
}

/** Lit with plain lights only: no environment maps or other assets from the network. */
export function Lights(): React.JSX.Element {
  return (
    <>
      <hemisphereLight args={['#ffffff', '#4a4f5a', 1.2]} />
      <directionalLight position={[2, 3, 4]} intensity={1.6} />
      <directionalLight position={[-3, 1, -2]} intensity={0.6} />
    </>
  )
}

/**
 * The 3D view of one model: three.js through react-three-fiber, loaded only once a model is
 * shown, so the first screen does not wait for it.
 */
export default function ModelViewport(props: {
  url: string
  /** The GLB's size, when known (for the bound on parsed models kept ready). */
  bytes?: number
  name: string
  wireframe: boolean
  viewKey: number
  /** Called once the model's bytes are loaded and it is on screen. */
  onShown?: (url: string) => void
  /** Told the loaded model's triangles, vertices and texture size. */
  onFacts?: (url: string, facts: ModelFacts) => void
}): React.JSX.Element {
  // The model drawn: the last one parsed. While the next one loads, the one before stays on
  // screen rather than a blank view.
  const { url, bytes, onFacts } = props
  const [loaded, setLoaded] = useState<{ url: string; bytes?: number; gltf?: GLTF }>()
  useEffect(() => {
    let current = true
    loadModel(url).then(
      (gltf) => current && setLoaded({ url, bytes, gltf }),
      () => current && setLoaded({ url }),
    )
    return () => {
      current = false
    }
  }, [url, bytes])
  useEffect(() => {
    if (loaded?.gltf) onFacts?.(loaded.url, modelFacts(loaded.gltf.scene))
  }, [loaded, onFacts])
  if (loaded?.url === url && !loaded.gltf) {
    return (
      <p className="error preview-message" role="alert">
        {NOT_SHOWN}
      </p>
    )
  }
  return (
    <DrawBoundary resetKey={url}>
      {/* Drawn on demand: an idle window draws nothing; orbiting, a load, a resize and the
          wireframe toggle each ask for a frame. */}
      <Canvas
        key={props.viewKey}
        frameloop="demand"
        gl={{ preserveDrawingBuffer: true, antialias: true }}
        camera={{ position: [0, 0.2, 2.4], fov: 40 }}
        aria-label={`3D model ${props.name}; drag to orbit, scroll to zoom`}
      >
        <color attach="background" args={['#1b2130']} />
        <Lights />
        {loaded?.gltf && (
          // Keyed by model: each one is fitted to the view as it arrives.
          <FitView key={loaded.url} margin={1.15}>
            <Center>
              <Model
                url={loaded.url}
                gltf={loaded.gltf}
                bytes={loaded.bytes}
                wireframe={props.wireframe}
                onShown={props.onShown}
              />
            </Center>
          </FitView>
        )}
        <OrbitControls makeDefault enableDamping={false} />
      </Canvas>
    </DrawBoundary>
  )
}
