import { useEffect } from 'react'
import { api } from './api'
import { CachePanel } from './components/CachePanel'
import { GenerateForm } from './components/GenerateForm'
import { ModelPreview } from './components/ModelPreview'
import { useStore } from './store'

const POLL_MS = 5_000

export function App(): React.JSX.Element {
  useEffect(() => {
    const { refresh, onProgress } = useStore.getState()
    void refresh()
    let pending: ReturnType<typeof setTimeout> | undefined
    // Many changes can land at once (a clear, a warm batch): refresh once they settle.
    const offChanged = api.onCacheChanged(() => {
      clearTimeout(pending)
      pending = setTimeout(() => void refresh(), 150)
    })
    const offProgress = api.onProgress(onProgress)
    const poll = setInterval(() => void refresh(), POLL_MS)
    return () => {
      offChanged()
      offProgress()
      clearInterval(poll)
      clearTimeout(pending)
    }
  }, [])

  return (
    <div className="app">
      <header className="app-header">
        <h1>MeshCache</h1>
        <p className="muted">Image to 3D, with every finished model kept for instant reuse.</p>
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
