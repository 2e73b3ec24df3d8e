import { useState } from 'react'
import type { DesktopAction } from '../../../shared/contract'
import { toErrorPayload } from '../../../shared/errors'
import { api } from '../api'

/**
 * What the window shows when the app could not start (a data folder it cannot use, a bad
 * setting): what failed, and the way out, in place of a modal box and a quit.
 */
export function StartupError({ message }: { message: string }): React.JSX.Element {
  const [problem, setProblem] = useState<string>()
  const run = (action: DesktopAction) => () => {
    setProblem(undefined)
    api.desktop({ action }).catch((error: unknown) => setProblem(toErrorPayload(error).message))
  }
  return (
    <main className="startup-error" data-testid="startup-error">
      <h1>MeshCache could not start</h1>
      <p role="alert">{message}</p>
      <p className="muted">Nothing was deleted. Fix the problem, then start MeshCache again; the log says more.</p>
      <div className="inline">
        <button type="button" className="primary" onClick={run('openDataFolder')}>
          Open data folder
        </button>
        <button type="button" className="secondary" onClick={run('openLogFile')}>
          Open log
        </button>
        <button type="button" className="secondary" onClick={run('quit')}>
          Quit
        </button>
      </div>
      {problem && <p className="error">{problem}</p>}
    </main>
  )
}
