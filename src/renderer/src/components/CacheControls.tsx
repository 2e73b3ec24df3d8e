import { type FormEvent, useEffect, useId, useState } from 'react'
import { toErrorPayload } from '../../../shared/errors'
import { ACCEPTED_IMAGE_TYPES } from '../../../shared/limits'
import { useStore } from '../store'

const MB = 1024 * 1024
const GB = 1024 * MB

/** One labelled number field with its validation message beside it. */
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

/** Limits form: whole numbers, at least 1 model and 1 MB; errors next to the field. */
export function LimitsForm(): React.JSX.Element {
  const config = useStore((s) => s.config)
  const setLimits = useStore((s) => s.setLimits)
  const [items, setItems] = useState('')
  const [megabytes, setMegabytes] = useState('')
  const [diskGb, setDiskGb] = useState('')
  const [errors, setErrors] = useState<{ items?: string; megabytes?: string; disk?: string; form?: string }>({})
  // While the user edits, the periodic refresh must not overwrite what they typed.
  const [editing, setEditing] = useState(false)
  const savedItems = config?.maxItems
  const savedBytes = config?.maxBytes
  const savedDiskBytes = config?.diskMaxBytes

  useEffect(() => {
    if (editing || savedItems === undefined || savedBytes === undefined) return
    setItems(String(savedItems))
    setMegabytes(String(Math.round(savedBytes / MB)))
    setDiskGb(savedDiskBytes == null ? '' : String(Number((savedDiskBytes / GB).toFixed(2))))
  }, [editing, savedItems, savedBytes, savedDiskBytes])

  const edit =
    (setter: (value: string) => void) =>
    (value: string): void => {
      setEditing(true)
      setter(value)
    }

  const onSubmit = async (event: FormEvent): Promise<void> => {
    event.preventDefault()
    const next: typeof errors = {}
    const maxItems = Number(items)
    const maxMb = Number(megabytes)
    if (!/^\d+$/.test(items.trim()) || maxItems < 1 || maxItems > 1_000_000) {
      next.items = 'Enter a whole number of models from 1 to 1,000,000.'
    }
    if (!/^\d+$/.test(megabytes.trim()) || maxMb < 1 || maxMb > 65_536) {
      next.megabytes = 'Enter a whole number of megabytes from 1 to 65,536.'
    }
    const hasDisk = config?.diskMaxBytes !== null && config?.diskMaxBytes !== undefined
    const maxGb = Number(diskGb)
    if (hasDisk && (!/^\d+(\.\d+)?$/.test(diskGb.trim()) || maxGb < 0.02 || maxGb > 16_384)) {
      next.disk = 'Enter a number of gigabytes from 0.02 to 16,384.'
    }
    setErrors(next)
    if (next.items || next.megabytes || next.disk) return
    try {
      await setLimits({
        maxItems,
        maxBytes: maxMb * MB,
        ...(hasDisk ? { diskMaxBytes: Math.round(maxGb * GB) } : {}),
      })
      setEditing(false)
    } catch (error) {
      setErrors({ form: toErrorPayload(error).message })
    }
  }

  return (
    <form className="limits" onSubmit={(e) => void onSubmit(e)} aria-label="Cache limits" noValidate>
      <LimitField label="Max models" value={items} error={errors.items} onChange={edit(setItems)} />
      <LimitField label="Max memory (MB)" value={megabytes} error={errors.megabytes} onChange={edit(setMegabytes)} />
      {config?.diskMaxBytes !== null && config?.diskMaxBytes !== undefined && (
        <LimitField label="Max disk (GB)" value={diskGb} error={errors.disk} onChange={edit(setDiskGb)} decimal />
      )}
      <button type="submit" className="secondary">
        Save limits
      </button>
      {errors.form && (
        <p className="error" role="alert">
          {errors.form}
        </p>
      )}
    </form>
  )
}

/** Clear asks once more before it drops everything. */
export function ClearControl(): React.JSX.Element {
  const clear = useStore((s) => s.clear)
  const count = useStore((s) => s.stats?.currentItems ?? 0)
  const onDisk = useStore((s) => (s.stats?.disk?.enabled ? s.stats.disk.currentItems : null))
  const [confirming, setConfirming] = useState(false)
  if (!confirming) {
    return (
      <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={count === 0 && !onDisk}>
        Clear cache…
      </button>
    )
  }
  return (
    <fieldset className="confirm">
      <legend>
        Clear the cache ({count} model{count === 1 ? '' : 's'} in memory{onDisk === null ? '' : `, ${onDisk} on disk`})?
      </legend>
      {onDisk !== null && (
        <button
          type="button"
          className="secondary"
          // biome-ignore lint/a11y/noAutofocus: focus moves to the confirmation the user just asked for
          autoFocus
          onClick={() => {
            setConfirming(false)
            void clear('memory')
          }}
        >
          Memory only
        </button>
      )}
      <button
        type="button"
        className="danger"
        onClick={() => {
          setConfirming(false)
          void clear('all')
        }}
      >
        Clear everything
      </button>
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
