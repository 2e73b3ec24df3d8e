import { useEffect } from 'react'
import { api } from './api'
import { CachePanel } from './components/CachePanel'
import { GenerateForm } from './components/GenerateForm'
import { ModelPreview } from './components/ModelPreview'
import { useStore, watchForSimilar } from './store'

const POLL_MS = 5_000
/** Backend availability is probed over the network: ask less often. */
const BACKEND_POLL_MS = 30_000

/** Which generator new models come from, and whether a configured GPU server is reachable. */
function BackendStatus(): React.JSX.Element | null {
  const backends = useStore((s) => s.backends)
  const active = backends.find((b) => b.isDefault)
  if (!active) return null
  const down = backends.filter((b) => !b.available)
  const fallback = !active.gpu && backends.some((b) => b.gpu)
  return (
    <p className="backend-status" data-testid="backend-status" data-state={active.state}>
      Generator: <strong>{active.name}</strong>
      {active.state === 'busy' && <span className="muted"> · busy: new requests wait their turn</span>}
      {fallback && (
        <span className="warning"> · no GPU server is reachable, so the builtin CPU generator is in use</span>
      )}
      {down.map((b) => (
        <span key={b.id} className="muted">
          {' '}
          · {b.detail ?? `${b.name} is unavailable`}
        </span>
      ))}
    </p>
  )
}

export function App(): React.JSX.Element {
  useEffect(() => {
    const { refresh, refreshBackends, onProgress } = useStore.getState()
    void refresh()
    void refreshBackends()
    const backendPoll = setInterval(() => void refreshBackends(), BACKEND_POLL_MS)
    let pending: ReturnType<typeof setTimeout> | undefined
    // Many changes can land at once (a clear, a warm batch): refresh once they settle.
    const offChanged = api.subscribe('cacheChanged', () => {
      clearTimeout(pending)
      pending = setTimeout(() => void refresh(), 150)
    })
    const offProgress = api.subscribe('progress', onProgress)
    const poll = setInterval(() => void refresh(), POLL_MS)
    const stopSimilar = watchForSimilar()
    return () => {
      stopSimilar()
      offChanged()
      offProgress()
      clearInterval(poll)
      clearInterval(backendPoll)
      clearTimeout(pending)
    }
  }, [])

  return (
    <div className="app">
      <header className="app-header">
        <h1>MeshCache</h1>
        <p className="muted">Image to 3D, with every finished model kept for instant reuse.</p>
        <BackendStatus />
      </header>
      <main className="layout">
        <div className="column">
          <GenerateForm />
          <ModelPreview />
        </div>
        <div className="column">
          <CachePanel />
        </div>
      </main>
    </div>
  )
}
