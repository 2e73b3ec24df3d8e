import { type FormEvent, useId, useState } from 'react'
import type { BackendInfo, BackendTestResult, ServerInfo } from '../../../shared/contract'
import { toErrorPayload } from '../../../shared/errors'
import { PUBLISHED_MODELS } from '../../../shared/models'
import { api } from '../api'
import { useStore } from '../store'
import { LocalServerView } from './LocalServerView'

export const GPU_SERVER_URL_INPUT = 'gpu-server-url'

const SOURCE_LABEL: Record<ServerInfo['source'], string> = {
  environment: 'from MESHCACHE_HUNYUAN_URL',
  settings: 'added here',
  local: 'started by MeshCache',
}

function describeTest(test: BackendTestResult): string {
  if (!test.ok) return test.detail ?? `${test.url} is not a Hunyuan3D api_server.`
  const busy = test.state === 'busy' ? ', busy generating' : ''
  const model = test.defaultModel
    ? ` Its default model is ${test.defaultModel}; name another if it runs other weights.`
    : ''
  return `Hunyuan3D ${test.variant ?? ''} answered in ${test.roundTripMs ?? '?'} ms${busy}.${model}`
}

const MODEL_SOURCE: Record<NonNullable<ServerInfo['modelSource']>, string> = {
  named: '',
  flags: ' (from its launch flags)',
  default: " (upstream's default)",
}

/** The published weights to pick from; any other name can be typed. */
function PublishedModels(props: { id: string }): React.JSX.Element {
  return (
    <datalist id={props.id}>
      {PUBLISHED_MODELS.map((model) => (
        <option key={model} value={model} />
      ))}
    </datalist>
  )
}

/** A server's model, and (for one added here) a way to name the weights it runs now. */
function ServerModel(props: {
  server: ServerInfo
  listId: string
  busy: boolean
  run: (work: () => Promise<string>) => Promise<void>
}): React.JSX.Element {
  const { server } = props
  const [editing, setEditing] = useState(false)
  const [model, setModel] = useState(server.model ?? '')
  const inputId = useId()
  const label = server.model ? `${server.model}${MODEL_SOURCE[server.modelSource ?? 'named']}` : 'model not known yet'
  if (!editing) {
    return (
      <span className="muted" data-testid="server-model">
        Model: {label}
        {server.source === 'settings' && (
          <>
            {' '}
            <button
              type="button"
              className="link"
              aria-label={`Change the model of ${server.url}`}
              onClick={() => setEditing(true)}
            >
              Change
            </button>
          </>
        )}
      </span>
    )
  }
  const save = (event: FormEvent): void => {
    event.preventDefault()
    void props.run(async () => {
      await api.setBackendModel({ id: server.id, model })
      setEditing(false)
      return `${server.url} now runs ${model}: new requests to it are keyed for that model.`
    })
  }
  return (
    <form className="inline" onSubmit={save} aria-label={`The weights ${server.url} runs`}>
      <label htmlFor={inputId} className="visually-hidden">
        Model of {server.url}
      </label>
      <input id={inputId} list={props.listId} required value={model} onChange={(e) => setModel(e.target.value)} />
      <button type="submit" className="secondary" disabled={props.busy || model.trim() === ''}>
        Save model
      </button>
      <button type="button" className="link" onClick={() => setEditing(false)}>
        Cancel
      </button>
    </form>
  )
}

/** The GPU servers of the pool: what each is and how it is doing; add, test and remove. */
export function GpuServers(): React.JSX.Element {
  const backends = useStore((s) => s.backends)
  const refreshBackends = useStore((s) => s.refreshBackends)
  const servers = backends.find((b: BackendInfo) => b.gpu)?.servers ?? []
  const notices = backends.find((b: BackendInfo) => b.gpu)?.notices ?? []
  const [url, setUrl] = useState('')
  const [concurrency, setConcurrency] = useState('1')
  const [texture, setTexture] = useState(false)
  const [model, setModel] = useState('')
  const [message, setMessage] = useState<{ ok: boolean; text: string }>()
  const [busy, setBusy] = useState(false)
  const concurrencyId = useId()
  const modelId = useId()
  const modelsListId = useId()
  const headingId = useId()

  const run = async (work: () => Promise<string>): Promise<void> => {
    setBusy(true)
    setMessage(undefined)
    try {
      setMessage({ ok: true, text: await work() })
    } catch (error) {
      setMessage({ ok: false, text: toErrorPayload(error).message })
    } finally {
      setBusy(false)
      void refreshBackends()
    }
  }
  const test = (): Promise<void> =>
    run(async () => {
      const result = await api.testBackend({ url })
      if (!result.ok) throw new Error(describeTest(result))
      // The default is shown in the field, where the user can correct it before adding.
      if (model.trim() === '' && result.defaultModel) setModel(result.defaultModel)
      return describeTest(result)
    })
  const add = (event: FormEvent): void => {
    event.preventDefault()
    void run(async () => {
      const named = model.trim()
      const servers = await api.addBackend({
        url,
        concurrency: Number(concurrency),
        texture,
        ...(named ? { model: named } : {}),
      })
      setUrl('')
      setModel('')
      const added = servers
        .flatMap((backend) => backend.servers ?? [])
        .find((server) => server.url === url.replace(/\/+$/, ''))
      return `${url} was added${added?.model ? `, running ${added.model}` : ''}: new requests use it.`
    })
  }

  return (
    <section className="card gpu-servers" aria-labelledby={headingId} data-testid="gpu-servers">
      <h2 id={headingId}>GPU servers</h2>
      {notices.map((notice) => (
        <p key={notice} className="warning small" role="status" data-testid="server-notice">
          {notice}
        </p>
      ))}
      {servers.length === 0 ? (
        <p className="muted">No GPU server is set up: models come from the builtin CPU generator.</p>
      ) : (
        <ul className="server-list">
          {servers.map((server) => (
            <li key={server.id} data-testid="gpu-server" data-state={server.state}>
              <strong>{server.url}</strong>
              <span className={`badge badge-${server.state}`}>{server.state}</span>
              <span className="muted">
                {server.variant ? `Hunyuan3D ${server.variant}` : 'variant not known yet'} ·{' '}
                {SOURCE_LABEL[server.source]}
                {' · '}
                {server.concurrency} at once{server.texture ? ' · textures by default' : ''}
              </span>
              <ServerModel server={server} listId={modelsListId} busy={busy} run={run} />
              {server.restartedAt !== undefined && (
                <span className="muted small" data-testid="server-restarted">
                  Restarted at {new Date(server.restartedAt).toLocaleTimeString()} (a new worker id); identified again.
                </span>
              )}
              {server.detail && <span className="muted small">{server.detail}</span>}
              {server.source === 'settings' && (
                <button
                  type="button"
                  className="secondary"
                  disabled={busy}
                  onClick={() =>
                    void run(async () => {
                      await api.removeBackend({ id: server.id })
                      return `${server.url} was removed.`
                    })
                  }
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <form className="server-form" onSubmit={add} aria-label="Add a GPU server">
        <div className="field">
          <label htmlFor={GPU_SERVER_URL_INPUT} className="field-label">
            Server URL
          </label>
          <input
            id={GPU_SERVER_URL_INPUT}
            type="url"
            required
            placeholder="http://gpu1:8080"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={modelId} className="field-label">
            Model <span className="muted">(the weights it runs)</span>
          </label>
          <input
            id={modelId}
            list={modelsListId}
            placeholder="Upstream's default for its variant (Test shows it)"
            value={model}
            onChange={(e) => setModel(e.target.value)}
          />
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor={concurrencyId} className="field-label">
              Jobs at once
            </label>
            <input
              id={concurrencyId}
              type="number"
              min={1}
              max={16}
              value={concurrency}
              onChange={(e) => setConcurrency(e.target.value)}
            />
          </div>
          <label className="checkbox">
            <input type="checkbox" checked={texture} onChange={(e) => setTexture(e.target.checked)} /> Texture by
            default
          </label>
        </div>
        <div className="inline">
          <button type="button" className="secondary" disabled={busy || url === ''} onClick={() => void test()}>
            Test
          </button>
          <button type="submit" className="primary" disabled={busy || url === ''}>
            Add server
          </button>
        </div>
      </form>
      <PublishedModels id={modelsListId} />
      <LocalServerView />
      {message && (
        <p
          className={message.ok ? 'notice' : 'error'}
          role={message.ok ? 'status' : 'alert'}
          data-testid="server-message"
        >
          {message.text}
        </p>
      )}
    </section>
  )
}
