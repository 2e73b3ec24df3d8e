import { Bounds, Center, OrbitControls } from '@react-three/drei'
import { Canvas, useLoader } from '@react-three/fiber'
import { Component, type ReactNode, Suspense, useEffect, useState } from 'react'
import { type Material, Mesh } from 'three'
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js'
import { useStore } from '../store'

function materials(mesh: Mesh): Material[] {
  return Array.isArray(mesh.material) ? mesh.material : [mesh.material]
}

function Model({ url, wireframe }: { url: string; wireframe: boolean }): React.JSX.Element {
  const gltf = useLoader(GLTFLoader, url)
  useEffect(() => {
    gltf.scene.traverse((object) => {
      if (object instanceof Mesh) {
        for (const material of materials(object)) {
          ;(material as Material & { wireframe?: boolean }).wireframe = wireframe
        }
      }
    })
  }, [gltf, wireframe])
  return <primitive object={gltf.scene} />
}

class LoadBoundary extends Component<{ children: ReactNode; resetKey: string }, { failed: boolean }> {
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
          The model could not be shown: it may have been removed from the cache.
        </p>
      )
    }
    return this.props.children
  }
}

/** Lit with plain lights only: no environment maps or other assets from the network. */
function Lights(): React.JSX.Element {
  return (
    <>
      <hemisphereLight args={['#ffffff', '#4a4f5a', 1.2]} />
      <directionalLight position={[2, 3, 4]} intensity={1.6} />
      <directionalLight position={[-3, 1, -2]} intensity={0.6} />
    </>
  )
}

export function ModelPreview(): React.JSX.Element {
  const model = useStore((s) => s.model)
  const save = useStore((s) => s.save)
  const [wireframe, setWireframe] = useState(false)
  const [viewKey, setViewKey] = useState(0)

  return (
    <section className="card preview" aria-label="3D preview">
      <div className="card-header">
        <h2>Preview</h2>
        <div className="toolbar">
          <button type="button" className="secondary" disabled={!model} onClick={() => setViewKey((k) => k + 1)}>
            Reset view
          </button>
          <button
            type="button"
            className="secondary"
            aria-pressed={wireframe}
            disabled={!model}
            onClick={() => setWireframe((w) => !w)}
          >
            Wireframe
          </button>
          <button type="button" className="secondary" disabled={!model} onClick={() => void save()}>
            Save GLB
          </button>
        </div>
      </div>
      <div className="viewport" data-testid="viewport" data-model-key={model?.key ?? ''}>
        {model ? (
          <LoadBoundary resetKey={model.url}>
            <Canvas
              key={viewKey}
              gl={{ preserveDrawingBuffer: true, antialias: true }}
              camera={{ position: [0, 0.2, 2.4], fov: 40 }}
              aria-label={`3D model ${model.name}; drag to orbit, scroll to zoom`}
            >
              <color attach="background" args={['#1b2130']} />
              <Lights />
              <Suspense fallback={null}>
                <Bounds fit clip observe margin={1.15}>
                  <Center>
                    <Model url={model.url} wireframe={wireframe} />
                  </Center>
                </Bounds>
              </Suspense>
              <OrbitControls makeDefault enableDamping={false} />
            </Canvas>
          </LoadBoundary>
        ) : (
          <p className="preview-message muted">Generate a model, or open one from the cache, to see it here.</p>
        )}
      </div>
    </section>
  )
}
