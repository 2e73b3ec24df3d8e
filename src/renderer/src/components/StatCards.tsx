import { formatBytes, formatMs, formatPercent } from '../format'
import { useStore } from '../store'

function Card({ label, value, detail, id }: { label: string; value: string; detail?: string; id: string }) {
  return (
    <div className="stat" data-testid={`stat-${id}`}>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
      {detail && <span className="stat-detail">{detail}</span>}
    </div>
  )
}

export function StatCards(): React.JSX.Element {
  const stats = useStore((s) => s.stats)
  if (!stats) return <p className="muted">Loading statistics…</p>
  return (
    <section className="stats" aria-label="Cache statistics">
      <Card
        id="hit-rate"
        label="Hit rate"
        value={formatPercent(stats.hitRate)}
        detail={`${stats.hits} hits · ${stats.misses} misses · ${stats.coalesced} joined`}
      />
      <Card id="items" label="Models" value={String(stats.currentItems)} detail={`limit ${stats.maxItems}`} />
      <Card
        id="memory"
        label="Memory"
        value={formatBytes(stats.currentBytes)}
        detail={`of ${formatBytes(stats.maxBytes)} (${formatPercent(stats.memoryUtilization)})`}
      />
      <Card
        id="evictions"
        label="Evictions"
        value={String(stats.evictions)}
        detail={`${formatBytes(stats.evictedBytes)} freed`}
      />
      <Card
        id="saved"
        label="Time saved"
        value={formatMs(stats.savedMs)}
        detail={`${stats.loads} loaded · ${stats.loadFailures} failed`}
      />
      {stats.disk && (
        <Card
          id="disk"
          label="On disk"
          value={stats.disk.enabled ? formatBytes(stats.disk.currentBytes) : 'Off'}
          detail={
            stats.disk.enabled
              ? `${stats.disk.currentItems} model${stats.disk.currentItems === 1 ? '' : 's'} · of ${formatBytes(stats.disk.maxBytes)} · ${stats.disk.hits} disk hit${stats.disk.hits === 1 ? '' : 's'}`
              : 'memory only'
          }
        />
      )}
      {stats.disk?.lastError && (
        <p className="error stats-wide" role="alert">
          {stats.disk.lastError}
        </p>
      )}
    </section>
  )
}
