import type { EntryMeta } from '../../shared/cache-types'
import type { Quality } from '../../shared/contract'

/** What the library asks of the entries list besides order and paging. */
export interface EntryFilter {
  /** Words every listed model's prompt or picture name contains. */
  q?: string
  model?: string
  quality?: Quality
  textured?: boolean
  kept?: boolean
}

/** Lower case, without accents: "Café" is found by "cafe". */
function folded(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
}

/**
 * A test for the entries a filter lets through. The search reads the prompt and the
 * picture's name only (never keys, models or other labels), and every word must occur in
 * one of them, so "blue chair" finds "chair.png" with the prompt "a blue one".
 */
export function entryFilter(filter: EntryFilter): (entry: { meta: EntryMeta; kept: boolean }) => boolean {
  const words = folded(filter.q ?? '')
    .split(/\s+/)
    .filter((word) => word.length > 0)
  return ({ meta, kept }) => {
    if (filter.kept !== undefined && kept !== filter.kept) return false
    if (filter.model !== undefined && meta.model !== filter.model) return false
    if (filter.quality !== undefined && meta.quality !== filter.quality) return false
    if (filter.textured !== undefined && (meta.texture === true) !== filter.textured) return false
    if (words.length === 0) return true
    const text = folded(`${String(meta.prompt ?? '')}\n${String(meta.pictureName ?? '')}`)
    return words.every((word) => text.includes(word))
  }
}
