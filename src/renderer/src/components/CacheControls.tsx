import { type FormEvent, useEffect, useId, useState } from 'react'
import type { EvictionPolicyName } from '../../../shared/cache-types'
import { toErrorPayload } from '../../../shared/errors'
import { ACCEPTED_IMAGE_TYPES, CONFIG_BOUNDS, GB, MB } from '../../../shared/limits'
import { formatMs } from '../format'
import { useStore } from '../store'

const POLICY_LABEL: Record<EvictionPolicyName, string> = {
  lru: 'Keep recently used',
  gdsf: 'Keep what was expensive to make',
}

const number = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits })

/** The form's messages, from the same bounds the app enforces. */
const MESSAGES = {
  items: `Enter a whole number of models from ${number(CONFIG_BOUNDS.maxItems.min)} to ${number(CONFIG_BOUNDS.maxItems.max)}.`,
  megabytes: `Enter a whole number of megabytes from ${number(CONFIG_BOUNDS.maxBytes.min / MB)} to ${number(CONFIG_BOUNDS.maxBytes.max / MB)}.`,
  disk: `Enter a number of gigabytes from ${number(CONFIG_BOUNDS.diskMaxBytes.min / GB, 3)} to ${number(CONFIG_BOUNDS.diskMaxBytes.max / GB)}.`,
}

const within = (value: number, bounds: { min: number; max: number }): boolean =>
  Number.isFinite(value) && value >= bounds.min && value <= bounds.max

/** One labelled field with its validation message beside it. */
function LimitField(props: {
  label: string
  value: string
  error?: string
  decimal?: boolean
  onChange: (value: string) => void
}): React.JSX.Element {
  const id = useId()
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {props.label}
      </label>
      <input
        id={id}
        inputMode={props.decimal ? 'decimal' : 'numeric'}
        value={props.value}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.error && (
        <p id={`${id}-error`} className="error" role="alert">
          {props.error}
        </p>
      )}
    </div>
  )
}

/** What each policy would have saved on the app's own recent requests, at the current limits. */
function PolicyComparison(): React.JSX.Element | null {
  const report = useStore((s) => s.policyReport)
  const refresh = useStore((s) => s.refreshPolicyReport)
  // Again whenever a generation adds to the log.
  const generated = useStore((s) => s.stats?.loads)
  useEffect(() => {
    if (generated !== undefined) void refresh()
  }, [refresh, generated])
  if (!report || report.requests === 0) return null
  return (
    <p className="muted small" data-testid="policy-comparison">
      On your last {number(report.requests)} requests, at these limits:{' '}
      {report.results.map((r, i) => (
        <span key={r.policy} data-policy={r.policy}>
          {i > 0 ? '; ' : ''}
          {POLICY_LABEL[r.policy].toLowerCase()}: <strong>{formatMs(r.savedMs)}</strong> saved
        </span>
      ))}
      .
    </p>
  )
}

/** Limits and eviction policy; errors next to each field. */
export function LimitsForm(): React.JSX.Element {
  const config = useStore((s) => s.config)
  const setConfig = useStore((s) => s.setConfig)
  const [items, setItems] = useState('')
  const [megabytes, setMegabytes] = useState('')
  const [diskGb, setDiskGb] = useState('')
  const [policy, setPolicy] = useState<EvictionPolicyName>('lru')
  const [errors, setErrors] = useState<{ items?: string; megabytes?: string; disk?: string; form?: string }>({})
  // While the user edits, the periodic refresh must not overwrite what they typed.
  const [editing, setEditing] = useState(false)
  const policyId = useId()
  const hasDisk = config?.diskMaxBytes !== null && config?.diskMaxBytes !== undefined

  useEffect(() => {
    if (editing || !config) return
    setItems(String(config.maxItems))
    setMegabytes(String(Math.round(config.maxBytes / MB)))
    setDiskGb(config.diskMaxBytes === null ? '' : String(Number((config.diskMaxBytes / GB).toFixed(3))))
    setPolicy(config.policy)
  }, [editing, config])

  const edit =
    <T,>(setter: (value: T) => void) =>
    (value: T): void => {
      setEditing(true)
      setter(value)
    }

  const onSubmit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    const next: typeof errors = {}
    const maxItems = /^\d+$/.test(items.trim()) ? Number(items) : Number.NaN
    const maxBytes = /^\d+$/.test(megabytes.trim()) ? Number(megabytes) * MB : Number.NaN
    const diskMaxBytes = /^\d+(\.\d+)?$/.test(diskGb.trim()) ? Math.round(Number(diskGb) * GB) : Number.NaN
    if (!within(maxItems, CONFIG_BOUNDS.maxItems)) next.items = MESSAGES.items
    if (!within(maxBytes, CONFIG_BOUNDS.maxBytes)) next.megabytes = MESSAGES.megabytes
    if (hasDisk && !within(diskMaxBytes, CONFIG_BOUNDS.diskMaxBytes)) next.disk = MESSAGES.disk
    setErrors(next)
    if (next.items || next.megabytes || next.disk) return
    try {
      await setConfig({ maxItems, maxBytes, policy, ...(hasDisk ? { diskMaxBytes } : {}) })
      setEditing(false)
    } catch (error) {
      setErrors({ form: toErrorPayload(error).message })
    }
  }

  return (
    <form className="limits" onSubmit={(e) => void onSubmit(e)} aria-label="Cache limits" noValidate>
      <LimitField label="Max models" value={items} error={errors.items} onChange={edit(setItems)} />
      <LimitField label="Max memory (MB)" value={megabytes} error={errors.megabytes} onChange={edit(setMegabytes)} />
      {hasDisk && (
        <LimitField label="Max disk (GB)" value={diskGb} error={errors.disk} onChange={edit(setDiskGb)} decimal />
      )}
      <div className="field">
        <label htmlFor={policyId} className="field-label">
          When full
        </label>
        <select id={policyId} value={policy} onChange={(e) => edit(setPolicy)(e.target.value as EvictionPolicyName)}>
          {(Object.keys(POLICY_LABEL) as EvictionPolicyName[]).map((p) => (
            <option key={p} value={p}>
              {POLICY_LABEL[p]}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="secondary">
        Save limits
      </button>
      {errors.form && (
        <p className="error" role="alert">
          {errors.form}
        </p>
      )}
      <PolicyComparison />
    </form>
  )
}

/** Clear asks once more, and says what each choice removes. */
export function ClearControl(): React.JSX.Element {
  const clear = useStore((s) => s.clear)
  const count = useStore((s) => s.stats?.currentItems ?? 0)
  const onDisk = useStore((s) => (s.stats?.disk?.enabled ? s.stats.disk.currentItems : null))
  const team = useStore((s) => (s.stats?.shared?.enabled ? s.stats.shared.currentItems : null))
  const kept = useStore((s) =>
    Math.max(s.stats?.keptItems ?? 0, s.stats?.disk?.keptItems ?? 0, s.stats?.shared?.keptItems ?? 0),
  )
  const [confirming, setConfirming] = useState<false | 'choose' | 'team'>(false)
  const [alsoKept, setAlsoKept] = useState(false)
  const choose = (scope: 'memory' | 'all' | 'team') => () => {
    setConfirming(false)
    setAlsoKept(false)
    void clear(scope, alsoKept)
  }
  if (!confirming) {
    return (
      <button
        type="button"
        className="danger"
        onClick={() => setConfirming('choose')}
        disabled={count === 0 && !onDisk && !team}
      >
        Clear cache…
      </button>
    )
  }
  if (confirming === 'team') {
    return (
      <fieldset className="confirm">
        <legend>Remove every model from the team's shared tier too? This affects everyone on the team.</legend>
        {/* biome-ignore lint/a11y/noAutofocus: focus moves to the confirmation the user just asked for */}
        <button type="button" className="secondary" autoFocus onClick={() => setConfirming(false)}>
          Keep them
        </button>
        <button type="button" className="danger" onClick={choose('team')}>
          Clear for the whole team
        </button>
      </fieldset>
    )
  }
  return (
    <fieldset className="confirm">
      <legend>
        Clear the cache ({count} model{count === 1 ? '' : 's'} in memory{onDisk === null ? '' : `, ${onDisk} on disk`})?
      </legend>
      {onDisk !== null && (
        // biome-ignore lint/a11y/noAutofocus: focus moves to the confirmation the user just asked for
        <button type="button" className="secondary" autoFocus onClick={choose('memory')}>
          Memory only
        </button>
      )}
      <button type="button" className="danger" onClick={choose('all')}>
        Clear everything
      </button>
      {kept > 0 && (
        <label className="small">
          <input type="checkbox" checked={alsoKept} onChange={(event) => setAlsoKept(event.target.checked)} /> Kept
          models too ({kept} kept; otherwise they stay)
        </label>
      )}
      {team !== null && (
        <button type="button" className="danger" onClick={() => setConfirming('team')}>
          Also the team tier…
        </button>
      )}
      <button type="button" className="secondary" onClick={() => setConfirming(false)}>
        Keep them
      </button>
    </fieldset>
  )
}

/** Pre-generates chosen pictures in the background with the form's prompt, quality and seed. */
export function WarmControl(): React.JSX.Element {
  const warm = useStore((s) => s.warm)
  const inputId = useId()
  return (
    <div className="warm">
      <label htmlFor={inputId} className="button secondary">
        Warm with images…
      </label>
      <input
        id={inputId}
        className="visually-hidden-input"
        type="file"
        multiple
        accept={ACCEPTED_IMAGE_TYPES.join(',')}
        data-testid="warm-input"
        onChange={(e) => {
          const files = Array.from(e.target.files ?? [])
          e.target.value = ''
          if (files.length > 0) void warm(files)
        }}
      />
    </div>
  )
}
