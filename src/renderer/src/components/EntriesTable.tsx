import { useState } from 'react'
import { shortKey } from '../../../shared/addresses'
import type { Tier } from '../../../shared/cache-types'
import type { SortField } from '../../../shared/contract'
import { entryFileName, entryTitle, formatAge, formatBytes, formatMs } from '../format'
import { useStore } from '../store'

const COLUMNS: { field: SortField; label: string }[] = [
  { field: 'prompt', label: 'Prompt' },
  { field: 'bytes', label: 'Size' },
  { field: 'hits', label: 'Hits' },
  { field: 'lastAccessAt', label: 'Last used' },
  { field: 'generationMs', label: 'Generation' },
]

const TIER_TITLE: Record<Tier, string> = {
  memory: 'In memory (and on disk)',
  disk: 'On disk only',
  shared: "In the team's shared tier only",
}

/**
 * Delete removes a model from this machine; one held only in the team's shared tier is
 * removed for everyone, so that asks once more.
 */
function DeleteButton(props: { tier: Tier; label: string; onDelete: (scope: 'local' | 'team') => void }) {
  const [confirming, setConfirming] = useState(false)
  if (props.tier !== 'shared') {
    return (
      <button
        type="button"
        className="link danger"
        onClick={() => props.onDelete('local')}
        aria-label={`Delete ${props.label}`}
      >
        Delete
      </button>
    )
  }
  if (!confirming) {
    return (
      <button
        type="button"
        className="link danger"
        onClick={() => setConfirming(true)}
        aria-label={`Delete ${props.label} for the team`}
      >
        Delete…
      </button>
    )
  }
  return (
    <>
      <button type="button" className="link danger" onClick={() => props.onDelete('team')}>
        Remove for the whole team
      </button>
      <button type="button" className="link" onClick={() => setConfirming(false)}>
        Keep
      </button>
    </>
  )
}

export function EntriesTable(): React.JSX.Element {
  const entries = useStore((s) => s.entries)
  const sort = useStore((s) => s.sort)
  const order = useStore((s) => s.order)
  const sortBy = useStore((s) => s.sortBy)
  const open = useStore((s) => s.open)
  const deleteEntry = useStore((s) => s.deleteEntry)
  const openKey = useStore((s) => s.model?.key)
  if (!entries) return <p className="muted">Loading entries…</p>
  if (entries.total === 0)
    return (
      <p className="muted" data-testid="entries-empty">
        The cache is empty.
      </p>
    )
  return (
    <div className="table-wrap">
      <table className="entries" data-testid="entries">
        <caption className="visually-hidden">Cached models</caption>
        <thead>
          <tr>
            <th scope="col">Image</th>
            {COLUMNS.map((c) => (
              <th
                key={c.field}
                scope="col"
                aria-sort={sort === c.field ? (order === 'asc' ? 'ascending' : 'descending') : undefined}
              >
                <button type="button" className="sort" onClick={() => void sortBy(c.field)}>
                  {c.label}
                  <span aria-hidden="true">{sort === c.field ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                </button>
              </th>
            ))}
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {entries.items.map((entry) => {
            const prompt = entryTitle(entry.meta) || '(no prompt)'
            const name = entryFileName(entry.meta, entry.key)
            return (
              <tr key={entry.key} data-key={entry.key} className={openKey === entry.key ? 'open' : undefined}>
                <td>
                  {entry.thumbnailUrl ? (
                    <img className="entry-thumb" src={entry.thumbnailUrl} alt="" width={40} height={40} />
                  ) : null}
                </td>
                <td
                  className="prompt-cell"
                  title={`${prompt} · ${entry.meta.quality} · seed ${entry.meta.seed} · ${entry.key}`}
                >
                  {prompt}
                  <span className="muted small">
                    {' '}
                    {String(entry.meta.quality ?? '')} · {shortKey(entry.key)}
                  </span>
                  <span className="muted small entry-model" data-testid="entry-model">
                    {typeof entry.meta.model === 'string' ? entry.meta.model : 'model not recorded'}
                  </span>
                </td>
                <td>
                  {formatBytes(entry.bytes)}{' '}
                  <span className="tier" title={TIER_TITLE[entry.tier]}>
                    {entry.tier}
                  </span>
                </td>
                <td>{entry.hits}</td>
                <td>{formatAge(entry.lastAccessAt)}</td>
                <td>{formatMs(entry.generationMs)}</td>
                <td className="actions">
                  <button
                    type="button"
                    className="link"
                    onClick={() => open(entry.key, name)}
                    aria-label={`Open ${prompt}`}
                  >
                    Open
                  </button>
                  <DeleteButton
                    tier={entry.tier}
                    label={prompt}
                    onDelete={(scope) => void deleteEntry(entry.key, scope)}
                  />
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
