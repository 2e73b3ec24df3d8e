import { lazy, Suspense } from 'react'
import { useStore } from '../store'
import { ClearControl, LimitsForm, WarmControl } from './CacheControls'
import { EntriesTable } from './EntriesTable'
import { StatCards } from './StatCards'

// The chart library loads beside the first screen, not before it.
const HistoryChart = lazy(() => import('./HistoryChart'))

export function CachePanel(): React.JSX.Element {
  const panelError = useStore((s) => s.panelError)
  const notice = useStore((s) => s.notice)
  return (
    <section className="card cache-panel" aria-label="Cache">
      <div className="card-header">
        <h2>Cache</h2>
        <div className="toolbar">
          <WarmControl />
          <ClearControl />
        </div>
      </div>
      {panelError && (
        <p className="error" role="alert">
          {panelError}
        </p>
      )}
      <p className="notice" aria-live="polite">
        {notice}
      </p>
      <StatCards />
      <Suspense fallback={<div className="chart" aria-hidden="true" />}>
        <HistoryChart />
      </Suspense>
      <LimitsForm />
      <EntriesTable />
    </section>
  )
}
