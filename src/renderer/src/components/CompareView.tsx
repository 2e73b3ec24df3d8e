import { Center, OrbitControls } from '@react-three/drei'
import { Canvas, useThree } from '@react-three/fiber'
import { useEffect, useMemo, useRef, useState } from 'react'
import type { Object3D, Vector3 } from 'three'
import type { OrbitControls as OrbitControlsImpl } from 'three/examples/jsm/controls/OrbitControls.js'
import type { EntryInfo } from '../../../shared/contract'
import { api } from '../api'
import { entryTitle, formatBytes, formatMs } from '../format'
import { useLibrary } from '../library-store'
import { describeFacts, type ModelFacts, modelFacts } from '../model-facts'
import { KeepButton, OpenButton } from './EntryButtons'
import { FitView } from './FitView'
import { DrawBoundary, Lights } from './ModelViewport'
import { loadModel } from './parsed-models'

/**
 * The cameras of the compared views, linked: orbiting or zooming one turns every other to the
 * same direction and the same zoom relative to its own fitted distance (models of different
 * sizes stay framed alike), while each keeps its own centre.
 */
class CameraLink {
  private readonly followers = new Set<(direction: Vector3, zoom: number) => void>()

  follow(apply: (direction: Vector3, zoom: number) => void): () => void {
    this.followers.add(apply)
    return () => this.followers.delete(apply)
  }

  moved(from: (direction: Vector3, zoom: number) => void, direction: Vector3, zoom: number): void {
    for (const apply of this.followers) if (apply !== from) apply(direction, zoom)
  }
}

/** Joins one view's camera to the link: its moves are told, the others' are followed. */
function LinkedCamera({ link, view }: { link: CameraLink; view: React.RefObject<HTMLElement | null> }): null {
  const camera = useThree((state) => state.camera)
  const controls = useThree((state) => state.controls) as OrbitControlsImpl | null
  const invalidate = useThree((state) => state.invalidate)
  useEffect(() => {
    if (!controls) return
    let applying = false
    const offset = (): Vector3 => camera.position.clone().sub(controls.target)
    // The distance FitView framed this view at; none until its model is framed.
    const fitted = (): number | undefined => camera.userData.fittedDistance as number | undefined
    const show = (direction: Vector3): void => {
      if (view.current)
        view.current.dataset.view = direction
          .toArray()
          .map((n) => n.toFixed(2))
          .join(',')
    }
    const apply = (direction: Vector3, zoom: number): void => {
      const base = fitted()
      if (base === undefined) return
      applying = true
      camera.position.copy(controls.target).addScaledVector(direction, base * zoom)
      controls.update()
      applying = false
      show(direction)
      invalidate()
    }
    const onChange = (): void => {
      const base = fitted()
      const now = offset()
      // Moves made by the link itself, or before this view was framed, are not the user's.
      if (applying || base === undefined || now.length() === 0) return
      const direction = now.clone().normalize()
      show(direction)
      link.moved(apply, direction, now.length() / base)
    }
    const stop = link.follow(apply)
    controls.addEventListener('change', onChange)
    return () => {
      stop()
      controls.removeEventListener('change', onChange)
    }
  }, [camera, controls, link, invalidate, view])
  return null
}

function ComparedModel({
  entry,
  link,
  onFacts,
}: {
  entry: EntryInfo
  link: CameraLink
  onFacts: (facts: ModelFacts) => void
}): React.JSX.Element {
  const url = api.modelUrl(entry.key)
  const view = useRef<HTMLDivElement>(null)
  const [scene, setScene] = useState<Object3D | 'failed'>()
  useEffect(() => {
    let current = true
    loadModel(url).then(
      (gltf) => {
        if (!current) return
        onFacts(modelFacts(gltf.scene))
        // A copy: the same parsed model may be on screen elsewhere, and an object has one parent.
        setScene(gltf.scene.clone(true))
      },
      () => current && setScene('failed'),
    )
    return () => {
      current = false
    }
  }, [url, onFacts])
  const title = entryTitle(entry.meta) || 'Untitled model'
  return (
    <div
      className="compare-view"
      ref={view}
      data-testid="compare-view"
      aria-busy={scene === undefined}
      data-key={entry.key}
    >
      {scene === 'failed' ? (
        <p className="error preview-message" role="alert">
          This model could not be shown: it may have been removed from the cache.
        </p>
      ) : (
        <DrawBoundary resetKey={url}>
          <Canvas
            frameloop="demand"
            camera={{ position: [0, 0.2, 2.4], fov: 40 }}
            aria-label={`3D model ${title}; drag to orbit every view, scroll to zoom`}
          >
            <color attach="background" args={['#1b2130']} />
            <Lights />
            {scene && (
              <FitView margin={1.15}>
                <Center>
                  <primitive object={scene} />
                </Center>
              </FitView>
            )}
            <OrbitControls makeDefault enableDamping={false} />
            <LinkedCamera link={link} view={view} />
          </Canvas>
        </DrawBoundary>
      )}
    </div>
  )
}

function ComparePanel({ entry, link }: { entry: EntryInfo; link: CameraLink }): React.JSX.Element {
  const [facts, setFacts] = useState<ModelFacts>()
  const keep = useLibrary((s) => s.keep)
  const [kept, setKept] = useState(entry.kept)
  const title = entryTitle(entry.meta) || 'Untitled model'
  const { prompt, pictureName, quality, seed, texture, model } = entry.meta
  return (
    <section className="compare-panel" aria-label={title}>
      <h3 title={title}>{title}</h3>
      <ComparedModel entry={entry} link={link} onFacts={setFacts} />
      <dl className="compare-facts">
        <dt>Settings</dt>
        <dd>
          {String(quality ?? '')} · seed {String(seed ?? '?')} · {texture === true ? 'textured' : 'untextured'}
          {prompt ? ` · “${String(prompt)}”` : ''}
          {pictureName ? ` · ${String(pictureName)}` : ''}
        </dd>
        <dt>Model</dt>
        <dd>{String(model ?? 'unknown')}</dd>
        <dt>Mesh</dt>
        <dd data-testid="compare-mesh">{facts ? describeFacts(facts) : 'Loading…'}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(entry.bytes)}</dd>
        <dt>Made in</dt>
        <dd>{formatMs(entry.generationMs)}</dd>
      </dl>
      <div className="library-actions">
        <KeepButton
          title={title}
          kept={kept}
          onToggle={() => {
            setKept(!kept)
            void keep(entry, !kept)
          }}
        />
        <OpenButton entry={entry} title={title} />
      </div>
    </section>
  )
}

/** Two to four models side by side, their cameras linked: for choosing between seeds or qualities. */
export default function CompareView({
  entries,
  onClose,
}: {
  entries: EntryInfo[]
  onClose: () => void
}): React.JSX.Element {
  const link = useMemo(() => new CameraLink(), [])
  return (
    <>
      <div className="card-header">
        <h2>Compare</h2>
        <button type="button" className="secondary" onClick={onClose}>
          Back to the library
        </button>
      </div>
      <p className="muted small">Orbit or zoom any view: the others follow.</p>
      <div className={`compare-grid compare-${entries.length}`}>
        {entries.map((entry) => (
          <ComparePanel key={entry.key} entry={entry} link={link} />
        ))}
      </div>
    </>
  )
}
