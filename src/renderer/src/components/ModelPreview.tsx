import { lazy, Suspense, useState } from 'react'
import { useStore } from '../store'

const ModelViewport = lazy(() => import('./ModelViewport'))

export function ModelPreview(): React.JSX.Element {
  const model = useStore((s) => s.model)
  const save = useStore((s) => s.save)
  const saveStatus = useStore((s) => (s.saveStatus?.key === s.model?.key ? s.saveStatus : undefined))
  const [wireframe, setWireframe] = useState(false)
  const [viewKey, setViewKey] = useState(0)
  const shownUrl = useStore((s) => s.shownUrl)
  const onShown = useStore((s) => s.modelShown)

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
      <p className={saveStatus?.ok === false ? 'error' : 'notice'} role="status" aria-live="polite">
        {saveStatus?.message}
      </p>
      <div
        className="viewport"
        data-testid="viewport"
        data-model-key={model?.key ?? ''}
        aria-busy={model !== undefined && shownUrl !== model.url}
      >
        {model ? (
          <Suspense fallback={<p className="preview-message muted">Loading the 3D view…</p>}>
            <ModelViewport
              url={model.url}
              bytes={model.bytes}
              name={model.name}
              wireframe={wireframe}
              viewKey={viewKey}
              onShown={onShown}
            />
          </Suspense>
        ) : (
          <p className="preview-message muted">Generate a model, or open one from the cache, to see it here.</p>
        )}
      </div>
    </section>
  )
}
