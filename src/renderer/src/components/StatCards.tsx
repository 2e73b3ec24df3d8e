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

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

type KeptTier = { name: string; keptItems: number; keptBytes: number; maxBytes: number }

/**
 * The models the user keeps, tier by tier, on a line of their own; and, plainly, a tier whose
 * kept models alone pass its limit (nothing else stays there, and nothing kept is evicted).
 */
function KeptLine({ tiers }: { tiers: KeptTier[] }): React.JSX.Element | null {
  const holding = tiers.filter((tier) => tier.keptItems > 0)
  if (holding.length === 0) return null
  const over = holding.filter((tier) => tier.keptBytes > tier.maxBytes)
  return (
    <>
      <p className="stats-wide muted" data-testid="kept-line">
        Kept:{' '}
        {holding
          .map((tier) => `${plural(tier.keptItems, 'model')} ${tier.name} (${formatBytes(tier.keptBytes)})`)
          .join(' · ')}
      </p>
      {over.map((tier) => (
        <p key={tier.name} className="warning stats-wide" role="alert">
          Kept models alone ({formatBytes(tier.keptBytes)}) pass the limit {tier.name} ({formatBytes(tier.maxBytes)}):
          no other model stays there, and kept ones are never evicted. Raise the limit or let some go.
        </p>
      ))}
    </>
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
        label="GPU time saved"
        value={formatMs(stats.savedMs)}
        detail={`${stats.loads} generated · ${stats.loadFailures} failed · ${stats.similarReuses} similar reused`}
      />
      <Card
        id="shapes"
        label="Shapes reused"
        value={formatMs(stats.shapeSavedMs)}
        detail={`${plural(stats.shapeReuses, 'textured request')} textured a cached shape, not made again`}
      />
      {stats.disk && (
        <Card
          id="disk"
          label={stats.disk.readOnly ? 'On disk (read-only)' : 'On disk'}
          value={stats.disk.enabled ? formatBytes(stats.disk.currentBytes) : 'Off'}
          detail={
            stats.disk.enabled
              ? `${plural(stats.disk.currentItems, 'model')} · of ${formatBytes(stats.disk.maxBytes)} · ${plural(stats.disk.hits, 'disk hit')}${stats.disk.warming ? ' · warming memory…' : ''}`
              : 'memory only'
          }
        />
      )}
      {stats.shared && (
        <Card
          id="shared"
          label="Team tier"
          value={stats.shared.connected ? formatBytes(stats.shared.currentBytes) : 'Unreachable'}
          detail={`${plural(stats.shared.currentItems, 'model')} · of ${formatBytes(stats.shared.maxBytes)} · ${plural(stats.shared.hits, 'team hit')}`}
        />
      )}
      <KeptLine
        tiers={[
          { name: 'in memory', ...stats },
          ...(stats.disk?.enabled ? [{ name: 'on disk', ...stats.disk }] : []),
          ...(stats.shared ? [{ name: "in the team's tier", ...stats.shared }] : []),
        ]}
      />
      {[stats.disk?.lastError, stats.shared?.lastError].filter(Boolean).map((problem) => (
        <p key={problem} className="error stats-wide" role="alert">
          {problem}
        </p>
      ))}
    </section>
  )
}
