import { lazy, Suspense, useCallback, useState } from 'react'
import { EXPORT_FORMATS, type ExportFormat, FORMAT_LABELS } from '../../../shared/export-formats'
import { describeFacts, type ModelFacts } from '../model-facts'
import { useStore } from '../store'

const ModelViewport = lazy(() => import('./ModelViewport'))

export function ModelPreview(): React.JSX.Element {
  const model = useStore((s) => s.model)
  const save = useStore((s) => s.save)
  const saveFormat = useStore((s) => s.saveFormat)
  const setSaveFormat = useStore((s) => s.setSaveFormat)
  const saveStatus = useStore((s) => (s.saveStatus?.key === s.model?.key ? s.saveStatus : undefined))
  const [wireframe, setWireframe] = useState(false)
  const [viewKey, setViewKey] = useState(0)
  const [facts, setFacts] = useState<{ url: string; facts: ModelFacts }>()
  const shownUrl = useStore((s) => s.shownUrl)
  const onShown = useStore((s) => s.modelShown)
  const onFacts = useCallback((url: string, found: ModelFacts) => setFacts({ url, facts: found }), [])
  const shownFacts = facts && facts.url === model?.url ? facts.facts : undefined

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
          <select
            aria-label="Save format"
            value={saveFormat}
            disabled={!model}
            onChange={(event) => setSaveFormat(event.target.value as ExportFormat)}
          >
            {EXPORT_FORMATS.map((format) => (
              <option key={format} value={format} title={FORMAT_LABELS[format]}>
                {format.toUpperCase()}
              </option>
            ))}
          </select>
          <button type="button" className="secondary" disabled={!model} onClick={() => void save()}>
            Save {saveFormat.toUpperCase()}
          </button>
        </div>
      </div>
      <p className="muted model-facts" data-testid="model-facts" aria-live="polite">
        {model && shownFacts ? describeFacts(shownFacts) : '\u00a0'}
      </p>
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
              onFacts={onFacts}
            />
          </Suspense>
        ) : (
          <p className="preview-message muted">Generate a model, or open one from the library, to see it here.</p>
        )}
      </div>
    </section>
  )
}
