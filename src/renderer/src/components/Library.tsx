import { useVirtualizer } from '@tanstack/react-virtual'
import { lazy, Suspense, useEffect, useLayoutEffect, useRef, useState } from 'react'
import type { EntryInfo } from '../../../shared/contract'
import { QUALITIES } from '../../../shared/contract'
import { entryTitle, formatBytes, formatMs } from '../format'
import { LIBRARY_SORTS, type LibrarySort, MAX_COMPARED, useLibrary } from '../library-store'

import { KeepButton, OpenButton } from './EntryButtons'

const CompareView = lazy(() => import('./CompareView'))

/** A card's width at least, and its row's height (the grid's rows are virtual: only those in view exist). */
const CARD_MIN_WIDTH = 200
const ROW_HEIGHT = 318
const GAP = 12
/** Typing settles for this long before the search is asked. */
const SEARCH_DELAY_MS = 120

/** Delete, asked twice for a kept model or one only the team's tier holds (gone for everyone). */
function DeleteButton({ entry, title }: { entry: EntryInfo; title: string }): React.JSX.Element {
  const remove = useLibrary((s) => s.remove)
  const [confirming, setConfirming] = useState(false)
  const careful = entry.kept || entry.tier === 'shared'
  if (careful && !confirming)
    return (
      <button type="button" className="link danger" aria-label={`Delete ${title}`} onClick={() => setConfirming(true)}>
        Delete…
      </button>
    )
  return (
    <button type="button" className="link danger" aria-label={`Delete ${title} now`} onClick={() => void remove(entry)}>
      {careful ? (entry.tier === 'shared' ? 'Delete for the team' : 'Delete kept model') : 'Delete'}
    </button>
  )
}

function LibraryCard({ entry }: { entry: EntryInfo }): React.JSX.Element {
  const keep = useLibrary((s) => s.keep)
  const toggleSelected = useLibrary((s) => s.toggleSelected)
  const selected = useLibrary((s) => s.selected.some((chosen) => chosen.key === entry.key))
  const full = useLibrary((s) => s.selected.length >= MAX_COMPARED)
  const title = entryTitle(entry.meta) || 'Untitled model'
  const { quality, texture, model, seed } = entry.meta
  return (
    <article className={`library-card${selected ? ' selected' : ''}`} aria-label={title} data-key={entry.key}>
      <div className="library-thumb">
        {entry.thumbnailUrl ? <img src={entry.thumbnailUrl} alt="" loading="lazy" decoding="async" /> : null}
        {entry.kept && <span className="badge kept-badge">Kept</span>}
      </div>
      <h3 title={title}>{title}</h3>
      <p className="muted small">
        {String(quality ?? '')} · {texture === true ? 'textured' : 'untextured'} · seed {String(seed ?? '?')}
      </p>
      <p className="muted small" title={String(model ?? '')}>
        {String(model ?? '')} · {formatBytes(entry.bytes)} · {formatMs(entry.generationMs)}
      </p>
      <div className="library-actions">
        <OpenButton entry={entry} title={title} />
        <KeepButton title={title} kept={entry.kept} onToggle={() => void keep(entry, !entry.kept)} />
        <DeleteButton entry={entry} title={title} />
        <label className="small">
          <input
            type="checkbox"
            checked={selected}
            disabled={!selected && full}
            onChange={() => toggleSelected(entry)}
            aria-label={`Compare ${title}`}
          />{' '}
          Compare
        </label>
      </div>
    </article>
  )
}

/** How many cards fit in a row of the grid's width. */
function useColumns(element: React.RefObject<HTMLDivElement | null>): number {
  const [columns, setColumns] = useState(1)
  useLayoutEffect(() => {
    const target = element.current
    if (!target) return
    const measure = (): void => setColumns(Math.max(1, Math.floor((target.clientWidth + GAP) / (CARD_MIN_WIDTH + GAP))))
    measure()
    const observer = new ResizeObserver(measure)
    observer.observe(target)
    return () => observer.disconnect()
  }, [element])
  return columns
}

function LibraryGrid(): React.JSX.Element {
  const items = useLibrary((s) => s.items)
  const total = useLibrary((s) => s.total)
  const need = useLibrary((s) => s.need)
  const scroller = useRef<HTMLDivElement>(null)
  const columns = useColumns(scroller)
  const rows = Math.ceil((total ?? 0) / columns)
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT + GAP,
    overscan: 2,
  })
  const shown = virtualizer.getVirtualItems()
  const first = shown[0]?.index ?? 0
  const last = shown[shown.length - 1]?.index ?? 0
  useEffect(() => {
    if (total !== undefined && total > 0) need(first * columns, Math.min(total, (last + 1) * columns))
  }, [first, last, columns, total, need])
  return (
    <div className="library-scroll" ref={scroller} data-testid="library-grid" tabIndex={-1}>
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {shown.map((row) => (
          <div
            key={row.key}
            className="library-row"
            style={{
              transform: `translateY(${row.start}px)`,
              gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
              height: ROW_HEIGHT,
            }}
          >
            {Array.from({ length: columns }, (_, column) => {
              const index = row.index * columns + column
              if (total === undefined || index >= total) return null
              const entry = items[index]
              return entry ? (
                <LibraryCard key={entry.key} entry={entry} />
              ) : (
                <div key={`loading-${index}`} className="library-card placeholder" aria-hidden="true" />
              )
            })}
          </div>
        ))}
      </div>
    </div>
  )
}

function LibraryFilters(): React.JSX.Element {
  const query = useLibrary((s) => s.query)
  const models = useLibrary((s) => s.models)
  const setQuery = useLibrary((s) => s.setQuery)
  const [text, setText] = useState(query.q)
  useEffect(() => {
    if (text === query.q) return
    const timer = setTimeout(() => setQuery({ q: text }), SEARCH_DELAY_MS)
    return () => clearTimeout(timer)
  }, [text, query.q, setQuery])
  return (
    <div className="library-filters">
      <input
        type="search"
        aria-label="Search models"
        placeholder="Search prompts and picture names"
        value={text}
        onChange={(event) => setText(event.target.value)}
      />
      <select aria-label="Model" value={query.model} onChange={(event) => setQuery({ model: event.target.value })}>
        <option value="">Every model</option>
        {models.map((model) => (
          <option key={model} value={model}>
            {model}
          </option>
        ))}
      </select>
      <select
        aria-label="Quality"
        value={query.quality}
        onChange={(event) => setQuery({ quality: event.target.value as typeof query.quality })}
      >
        <option value="">Any quality</option>
        {QUALITIES.map((quality) => (
          <option key={quality} value={quality}>
            {quality}
          </option>
        ))}
      </select>
      <select
        aria-label="Texture"
        value={query.textured}
        onChange={(event) => setQuery({ textured: event.target.value as typeof query.textured })}
      >
        <option value="">Textured or not</option>
        <option value="yes">Textured</option>
        <option value="no">Untextured</option>
      </select>
      <label className="small">
        <input
          type="checkbox"
          checked={query.keptOnly}
          onChange={(event) => setQuery({ keptOnly: event.target.checked })}
        />{' '}
        Kept only
      </label>
      <select
        aria-label="Sort by"
        value={query.sort}
        onChange={(event) => setQuery({ sort: event.target.value as LibrarySort })}
      >
        {Object.entries(LIBRARY_SORTS).map(([value, { label }]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  )
}

/**
 * Every model in every tier, as a grid of the pictures they were made from: searched, filtered
 * and sorted by the service a page at a time, with only the rows in view drawn, so thousands
 * of models stay fluid. Each can be opened in the studio, kept, deleted, or chosen for Compare.
 */
export function Library(): React.JSX.Element {
  const total = useLibrary((s) => s.total)
  const query = useLibrary((s) => s.query)
  const selected = useLibrary((s) => s.selected)
  const comparing = useLibrary((s) => s.comparing)
  const setComparing = useLibrary((s) => s.setComparing)
  const clearSelected = useLibrary((s) => s.clearSelected)
  const error = useLibrary((s) => s.error)
  // What changed while the studio was shown is listed on return (the pages shown stay until then).
  useEffect(() => {
    void useLibrary.getState().reload()
  }, [])
  const filtered = query.q.trim() !== '' || query.model || query.quality || query.textured || query.keptOnly
  const count =
    total === undefined
      ? 'Loading models…'
      : total === 0
        ? filtered
          ? 'No model matches.'
          : 'No models yet: generate one in the studio.'
        : `${total.toLocaleString('en')} ${total === 1 ? 'model' : 'models'}${filtered ? ' found' : ''}`
  if (comparing && selected.length >= 2)
    return (
      <section className="card library" aria-label="Compare models">
        <Suspense fallback={<p className="muted">Loading the 3D views…</p>}>
          <CompareView entries={selected} onClose={() => setComparing(false)} />
        </Suspense>
      </section>
    )
  return (
    <section className="card library" aria-label="Library">
      <div className="card-header">
        <h2>Library</h2>
        <LibraryFilters />
      </div>
      <div className="library-status">
        <p role="status" data-testid="library-count" className="muted">
          {count}
        </p>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <fieldset className="compare-bar">
          <legend className="visually-hidden">Chosen for Compare</legend>
          <span className="muted small">
            {selected.length === 0
              ? `Choose 2 to ${MAX_COMPARED} models to compare them side by side.`
              : `${selected.length} chosen`}
          </span>
          <button
            type="button"
            disabled={selected.length < 2}
            onClick={() => setComparing(true)}
            aria-label={`Compare ${selected.length} models`}
          >
            Compare
          </button>
          {selected.length > 0 && (
            <button type="button" className="link" onClick={clearSelected}>
              Clear choice
            </button>
          )}
        </fieldset>
      </div>
      <LibraryGrid />
    </section>
  )
}
