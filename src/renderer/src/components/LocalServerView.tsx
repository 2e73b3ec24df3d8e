import { type FormEvent, useCallback, useEffect, useId, useState } from 'react'
import type { LocalServerStatus } from '../../../shared/contract'
import { toErrorPayload } from '../../../shared/errors'
import { api } from '../api'
import { useStore } from '../store'

const STATE_LABEL: Record<LocalServerStatus['state'], string> = {
  stopped: 'Stopped',
  starting: 'Starting (loading the model can take minutes)…',
  running: 'Running',
  restarting: 'It stopped; starting it again…',
  failed: 'Failed',
}

/** Desktop only: a Hunyuan3D checkout on this machine that MeshCache starts and looks after. */
export function LocalServerView(): React.JSX.Element | null {
  const refreshBackends = useStore((s) => s.refreshBackends)
  const [desktop, setDesktop] = useState(false)
  const [status, setStatus] = useState<LocalServerStatus>()
  const [form, setForm] = useState({
    python: 'python3',
    checkout: '',
    port: '8081',
    enableTexture: false,
    lowVram: false,
    modelPath: '',
    subfolder: '',
    texModelPath: '',
    flashvdm: false,
    mcAlgo: '',
  })
  const [error, setError] = useState<string>()
  const ids = {
    python: useId(),
    checkout: useId(),
    port: useId(),
    model: useId(),
    subfolder: useId(),
    texModel: useId(),
    mcAlgo: useId(),
  }

  const refresh = useCallback(async () => {
    const now = await api.localServer()
    setStatus(now)
    return now
  }, [])
  useEffect(() => {
    void api.appStatus().then(async ({ desktop: isDesktop }) => {
      setDesktop(isDesktop)
      if (!isDesktop) return
      const now = await refresh()
      if (now.config) {
        const { python, checkout, port, enableTexture, lowVram, modelPath, subfolder, texModelPath, flashvdm, mcAlgo } =
          now.config
        setForm({
          python,
          checkout,
          port: String(port),
          enableTexture,
          lowVram,
          modelPath: modelPath ?? '',
          subfolder: subfolder ?? '',
          texModelPath: texModelPath ?? '',
          flashvdm: flashvdm ?? false,
          mcAlgo: mcAlgo ?? '',
        })
      }
    })
  }, [refresh])
  // While it starts or restarts, follow it (and the pool it joins).
  useEffect(() => {
    if (!status || status.state === 'stopped' || status.state === 'failed') return
    const timer = setInterval(() => void refresh().then(() => refreshBackends()), 1_000)
    return () => clearInterval(timer)
  }, [status, refresh, refreshBackends])

  if (!desktop) return null
  const running = status && status.state !== 'stopped' && status.state !== 'failed'
  const act = (work: () => Promise<LocalServerStatus>) => {
    setError(undefined)
    work()
      .then(setStatus)
      .catch((failure: unknown) => setError(toErrorPayload(failure).message))
  }
  const start = (event: FormEvent): void => {
    event.preventDefault()
    act(() =>
      api.startLocalServer({
        python: form.python,
        checkout: form.checkout,
        port: Number(form.port),
        enableTexture: form.enableTexture,
        lowVram: form.lowVram,
        ...(form.modelPath ? { modelPath: form.modelPath } : {}),
        ...(form.subfolder ? { subfolder: form.subfolder } : {}),
        ...(form.texModelPath ? { texModelPath: form.texModelPath } : {}),
        ...(form.flashvdm ? { flashvdm: true } : {}),
        ...(form.mcAlgo ? { mcAlgo: form.mcAlgo } : {}),
      }),
    )
  }
  const field = (name: keyof typeof form) => ({
    value: String(form[name]),
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [name]: e.target.value }),
  })
  const flag = (name: 'enableTexture' | 'lowVram' | 'flashvdm') => ({
    checked: form[name],
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [name]: e.target.checked }),
  })
  return (
    <form className="local-server" onSubmit={start} aria-label="Local GPU server" data-testid="local-server">
      <h3>A GPU server on this machine</h3>
      <p className="muted small">
        MeshCache starts Hunyuan3D's api_server.py from your checkout, and starts it again if it stops.
      </p>
      <div className="field">
        <label htmlFor={ids.checkout} className="field-label">
          Hunyuan3D folder
        </label>
        <input id={ids.checkout} required placeholder="/home/me/Hunyuan3D-2" {...field('checkout')} />
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor={ids.python} className="field-label">
            Python
          </label>
          <input id={ids.python} required {...field('python')} />
        </div>
        <div className="field">
          <label htmlFor={ids.port} className="field-label">
            Port
          </label>
          <input id={ids.port} type="number" min={1024} max={65535} {...field('port')} />
        </div>
      </div>
      <div className="field">
        <label htmlFor={ids.model} className="field-label">
          Model path <span className="muted">(optional)</span>
        </label>
        <input id={ids.model} placeholder="tencent/Hunyuan3D-2mini" {...field('modelPath')} />
      </div>
      <p className="muted small">These flags choose the weights, which name the server's model in every key.</p>
      <div className="field-row">
        <div className="field">
          <label htmlFor={ids.subfolder} className="field-label">
            Subfolder <span className="muted">(optional)</span>
          </label>
          <input id={ids.subfolder} placeholder="hunyuan3d-dit-v2-mini-turbo" {...field('subfolder')} />
        </div>
        <div className="field">
          <label htmlFor={ids.texModel} className="field-label">
            Texture weights <span className="muted">(2.0, optional)</span>
          </label>
          <input id={ids.texModel} placeholder="tencent/Hunyuan3D-2" {...field('texModelPath')} />
        </div>
        <div className="field">
          <label htmlFor={ids.mcAlgo} className="field-label">
            mc_algo <span className="muted">(2.1, optional)</span>
          </label>
          <input id={ids.mcAlgo} placeholder="mc" {...field('mcAlgo')} />
        </div>
      </div>
      <div className="inline">
        <label className="checkbox">
          <input type="checkbox" {...flag('enableTexture')} /> --enable_tex (2.0)
        </label>
        <label className="checkbox">
          <input type="checkbox" {...flag('lowVram')} /> --low_vram_mode (2.1)
        </label>
        <label className="checkbox">
          <input type="checkbox" {...flag('flashvdm')} /> --enable_flashvdm (2.1)
        </label>
      </div>
      <div className="inline">
        <button type="submit" className="primary">
          {running ? 'Restart' : 'Start'}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!running}
          onClick={() => act(() => api.stopLocalServer())}
        >
          Stop
        </button>
      </div>
      {status && (
        <p data-testid="local-server-state" data-state={status.state} aria-live="polite">
          {STATE_LABEL[status.state]}
          {status.url ? ` at ${status.url}` : ''}
          {status.restarts > 0 ? ` · started again ${status.restarts}×` : ''}
          {status.problem ? ` · ${status.problem}` : ''}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {status && status.output.length > 0 && (
        <pre className="server-output" role="log" aria-label="Server output" data-testid="local-server-output">
          {status.output.slice(-40).join('\n')}
        </pre>
      )}
    </form>
  )
}
