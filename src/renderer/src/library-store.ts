import { create } from 'zustand'
import type { EntriesPage, EntryInfo, Quality, SortField } from '../../shared/contract'
import { toErrorPayload } from '../../shared/errors'
import { api } from './api'

/** The library's orders, in the words of its Sort menu. */
export const LIBRARY_SORTS = {
  newest: { label: 'Newest', sort: 'createdAt', order: 'desc' },
  recent: { label: 'Recently used', sort: 'lastAccessAt', order: 'desc' },
  mostUsed: { label: 'Most used', sort: 'hits', order: 'desc' },
  largest: { label: 'Largest', sort: 'bytes', order: 'desc' },
  longest: { label: 'Longest to make', sort: 'generationMs', order: 'desc' },
  title: { label: 'Title', sort: 'prompt', order: 'asc' },
} as const satisfies Record<string, { label: string; sort: SortField; order: 'asc' | 'desc' }>
export type LibrarySort = keyof typeof LIBRARY_SORTS

export interface LibraryQuery {
  q: string
  /** '' for every model. */
  model: string
  quality: Quality | ''
  textured: '' | 'yes' | 'no'
  keptOnly: boolean
  sort: LibrarySort
}

/** Models compared side by side, at most. */
export const MAX_COMPARED = 4
/** Entries asked for at once: a screenful of rows and more, well under the service's page limit. */
export const LIBRARY_PAGE = 120

interface LibraryState {
  query: LibraryQuery
  /** The query's entries by position; undefined where a page has not arrived yet. */
  items: (EntryInfo | undefined)[]
  /** How many entries the query finds; undefined until its first page arrives. */
  total?: number
  /** Every model named by any entry (the Model filter's choices). */
  models: string[]
  /** Chosen for Compare, in the order chosen. */
  selected: EntryInfo[]
  comparing: boolean
  error?: string
  setQuery(patch: Partial<LibraryQuery>): void
  /** Positions the grid shows: their pages are asked for if they are not here yet. */
  need(start: number, end: number): void
  /** Asks again for every page shown (the cache changed). */
  reload(): Promise<void>
  keep(entry: EntryInfo, keep: boolean): Promise<void>
  remove(entry: EntryInfo): Promise<void>
  toggleSelected(entry: EntryInfo): void
  clearSelected(): void
  setComparing(comparing: boolean): void
}

/** Pages asked for under the current query; a new query starts a new set, so late answers of an old one are dropped. */
let asked = new Set<number>()

function request(query: LibraryQuery, page: number) {
  const { sort, order } = LIBRARY_SORTS[query.sort]
  return {
    offset: page * LIBRARY_PAGE,
    limit: LIBRARY_PAGE,
    sort,
    order,
    ...(query.q.trim() ? { q: query.q.trim() } : {}),
    ...(query.model ? { model: query.model } : {}),
    ...(query.quality ? { quality: query.quality } : {}),
    ...(query.textured ? { textured: query.textured === 'yes' } : {}),
    ...(query.keptOnly ? { kept: true } : {}),
  }
}

export const useLibrary = create<LibraryState>()((set, get) => {
  /** Puts a page's entries in place, unless the query changed meanwhile. */
  const place = (pages: Set<number>, page: number, answer: EntriesPage): void => {
    if (pages !== asked) return
    const items = get().items.slice(0, answer.total)
    items.length = answer.total
    answer.items.forEach((entry, i) => {
      items[page * LIBRARY_PAGE + i] = entry
    })
    set({ items, total: answer.total, models: answer.models, error: undefined })
  }
  const load = async (page: number): Promise<void> => {
    const pages = asked
    pages.add(page)
    try {
      place(pages, page, await api.entries(request(get().query, page)))
    } catch (error) {
      pages.delete(page)
      if (pages === asked) set({ error: toErrorPayload(error).message })
    }
  }
  return {
    query: { q: '', model: '', quality: '', textured: '', keptOnly: false, sort: 'newest' },
    items: [],
    models: [],
    selected: [],
    comparing: false,

    setQuery(patch) {
      asked = new Set()
      set({ query: { ...get().query, ...patch }, items: [], total: undefined })
      void load(0)
    },

    need(start, end) {
      const last = Math.max(start, end - 1)
      for (let page = Math.floor(start / LIBRARY_PAGE); page <= Math.floor(last / LIBRARY_PAGE); page++) {
        if (!asked.has(page)) void load(page)
      }
    },

    async reload() {
      const pages = [...asked]
      asked = new Set()
      await Promise.all((pages.length > 0 ? pages : [0]).map((page) => load(page)))
    },

    async keep(entry, keep) {
      const flip = (kept: boolean): void =>
        set({ items: get().items.map((item) => (item?.key === entry.key ? { ...item, kept } : item)) })
      flip(keep)
      try {
        await api.keepEntry({ key: entry.key, keep })
      } catch (error) {
        flip(!keep)
        set({ error: toErrorPayload(error).message })
      }
    },

    async remove(entry) {
      try {
        await api.deleteEntry({ key: entry.key, scope: entry.tier === 'shared' ? 'team' : 'local' })
        set({ selected: get().selected.filter((chosen) => chosen.key !== entry.key) })
        await get().reload()
      } catch (error) {
        set({ error: toErrorPayload(error).message })
      }
    },

    toggleSelected(entry) {
      const { selected } = get()
      const without = selected.filter((chosen) => chosen.key !== entry.key)
      if (without.length < selected.length) set({ selected: without })
      else if (selected.length < MAX_COMPARED) set({ selected: [...selected, entry] })
    },

    clearSelected() {
      set({ selected: [], comparing: false })
    },

    setComparing(comparing) {
      set({ comparing })
    },
  }
})
