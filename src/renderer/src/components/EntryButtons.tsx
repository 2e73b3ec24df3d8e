import type { EntryInfo } from '../../../shared/contract'
import { entryFileName } from '../format'
import { useStore } from '../store'

/** Opens a stored model in the studio's preview (the library's cards and the compare view). */
export function OpenButton({ entry, title }: { entry: EntryInfo; title: string }): React.JSX.Element {
  const open = useStore((s) => s.open)
  return (
    <button
      type="button"
      className="secondary"
      aria-label={`Open ${title}`}
      onClick={() => open(entry.key, entryFileName(entry.meta, entry.key), entry.bytes)}
    >
      Open
    </button>
  )
}

/** Keep, pressed while the model is kept. */
export function KeepButton(props: { title: string; kept: boolean; onToggle: () => void }): React.JSX.Element {
  return (
    <button
      type="button"
      className="secondary"
      aria-pressed={props.kept}
      aria-label={`Keep ${props.title}`}
      onClick={props.onToggle}
    >
      {props.kept ? 'Kept' : 'Keep'}
    </button>
  )
}
