import { useEffect, useState } from 'react'
import type { AppStatus, OpenPictureEvent } from '../../shared/contract'
import { api } from './api'
import { CachePanel } from './components/CachePanel'
import { GenerateForm } from './components/GenerateForm'
import { GPU_SERVER_URL_INPUT, GpuServers } from './components/GpuServers'
import { JobsList } from './components/JobsList'
import { Library } from './components/Library'
import { ModelPreview } from './components/ModelPreview'
import { StartupError } from './components/StartupError'
import { useLibrary } from './library-store'
import { useStore, watchForSimilar } from './store'

const POLL_MS = 5_000
/** Backend availability is probed over the network: ask less often. */
const BACKEND_POLL_MS = 30_000

/** Which generator new models come from, and whether a configured GPU server is reachable. */
function BackendStatus(): React.JSX.Element | null {
  const backends = useStore((s) => s.backends)
  const active = backends.find((b) => b.isDefault)
  if (!active) return null
  const gpu = backends.find((b) => b.gpu)
  const noServer = !active.gpu && (gpu?.servers?.length ?? 0) === 0
  const down = backends.filter((b) => !b.available && (b.servers?.length ?? 1) > 0)
  const fallback = !active.gpu && !noServer
  return (
    <p className="backend-status" data-testid="backend-status" data-state={active.state}>
      Generator: <strong>{active.name}</strong>
      {active.state === 'busy' && <span className="muted"> · busy: new requests wait their turn</span>}
      {fallback && (
        <span className="warning"> · no GPU server is reachable, so the builtin CPU generator is in use</span>
      )}
      {noServer && (
        <>
          <span className="muted"> · the builtin CPU generator is in use </span>
          <button type="button" className="link" onClick={() => document.getElementById(GPU_SERVER_URL_INPUT)?.focus()}>
            Add a GPU server
          </button>
        </>
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

const VIEWS = [
  { id: 'studio', label: 'Studio' },
  { id: 'library', label: 'Library' },
] as const

/** The window's two views as tabs: arrow keys move between them, as in any tab list. */
function ViewTabs(): React.JSX.Element {
  const view = useStore((s) => s.view)
  const setView = useStore((s) => s.setView)
  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return
    const next = view === 'studio' ? 'library' : 'studio'
    setView(next)
    document.getElementById(`tab-${next}`)?.focus()
  }
  return (
    <div className="view-tabs" role="tablist" aria-label="Views" onKeyDown={onKeyDown}>
      {VIEWS.map(({ id, label }) => (
        <button
          key={id}
          id={`tab-${id}`}
          type="button"
          role="tab"
          aria-selected={view === id}
          aria-controls={`view-${id}`}
          tabIndex={view === id ? 0 : -1}
          onClick={() => setView(id)}
        >
          {label}
        </button>
      ))}
    </div>
  )
}

/** A file for a picture the desktop shell handed over (its type from its name, as a file input gives it). */
function pictureFile({ name, bytes }: OpenPictureEvent): File {
  const extension = name.split('.').pop()?.toLowerCase()
  const type = extension === 'png' ? 'image/png' : extension === 'webp' ? 'image/webp' : 'image/jpeg'
  return new File([bytes as Uint8Array<ArrayBuffer>], name, { type })
}

/** The app, or the screen that says why it could not start (the desktop shell tells). */
export function App(): React.JSX.Element {
  const [startupError, setStartupError] = useState<string | null>(null)
  useEffect(() => {
    const show = (status: AppStatus): void => {
      setStartupError(status.startupError)
      useStore.setState({ desktop: status.desktop })
    }
    const off = api.subscribe('appStatus', show)
    void api.appStatus().then(show)
    return off
  }, [])
  return startupError ? <StartupError message={startupError} /> : <MainView />
}

/** The window's title counts the jobs that finished since the user last looked. */
function useTitle(): void {
  const unseen = useStore((s) => s.unseen.length)
  useEffect(() => {
    document.title = unseen > 0 ? `MeshCache (${unseen} new)` : 'MeshCache'
  }, [unseen])
}

function MainView(): React.JSX.Element {
  useTitle()
  useEffect(() => {
    const { refresh, refreshBackends, refreshJobs, onProgress, onJobsChanged } = useStore.getState()
    void refresh()
    void refreshBackends()
    void refreshJobs()
    const offJobs = api.subscribe('jobsChanged', onJobsChanged)
    // Pictures dropped anywhere on the window are picked, as with the picker: one job each.
    const onDragOver = (event: DragEvent): void => {
      if (event.dataTransfer?.types.includes('Files')) event.preventDefault()
    }
    const onDrop = (event: DragEvent): void => {
      if (!event.dataTransfer?.files.length) return
      event.preventDefault()
      void useStore.getState().pickFiles([...event.dataTransfer.files])
    }
    window.addEventListener('dragover', onDragOver)
    window.addEventListener('drop', onDrop)
    const backendPoll = setInterval(() => void refreshBackends(), BACKEND_POLL_MS)
    let pending: ReturnType<typeof setTimeout> | undefined
    // Many changes can land at once (a clear, a warm batch): refresh once they settle.
    // The panel follows the cache, but not while a model the user asked for is on its way to
    // the screen: its re-render would take the main thread from the first frame.
    const refreshWhenShown = (): void => {
      clearTimeout(pending)
      pending = setTimeout(() => {
        const { job, clickedAt, view } = useStore.getState()
        if (job || clickedAt !== undefined) refreshWhenShown()
        else {
          void refresh()
          if (view === 'library') void useLibrary.getState().reload()
        }
      }, 150)
    }
    const offChanged = api.subscribe('cacheChanged', refreshWhenShown)
    const offProgress = api.subscribe('progress', onProgress)
    // The desktop shell's File menu and a second launch hand pictures over; Save model… runs the button's action.
    const offPicture = api.subscribe(
      'openPicture',
      (picture) => void useStore.getState().pickFile(pictureFile(picture)),
    )
    const offMenu = api.subscribe('menuCommand', ({ command }) => {
      if (command === 'saveModel') void useStore.getState().save()
    })
    const poll = setInterval(() => void refresh(), POLL_MS)
    const stopSimilar = watchForSimilar()
    return () => {
      offJobs()
      window.removeEventListener('dragover', onDragOver)
      window.removeEventListener('drop', onDrop)
      stopSimilar()
      offChanged()
      offProgress()
      offPicture()
      offMenu()
      clearInterval(poll)
      clearInterval(backendPoll)
      clearTimeout(pending)
    }
  }, [])

  const view = useStore((s) => s.view)
  return (
    <div className="app">
      <header className="app-header">
        <h1>MeshCache</h1>
        <ViewTabs />
        <BackendStatus />
      </header>
      {view === 'studio' ? (
        <main className="layout" id="view-studio" role="tabpanel" aria-labelledby="tab-studio">
          <div className="column">
            <GenerateForm />
            <JobsList />
          </div>
          <div className="column">
            <ModelPreview />
            <CachePanel />
            <GpuServers />
          </div>
        </main>
      ) : (
        <main className="library-layout" id="view-library" role="tabpanel" aria-labelledby="tab-library">
          <Library />
        </main>
      )}
    </div>
  )
}
