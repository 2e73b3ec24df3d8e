import { create } from 'zustand'
import { modelFileName } from '../../shared/addresses'
import type {
  BackendInfo,
  CacheConfig,
  CacheConfigPatch,
  ClearScope,
  EntriesPage,
  GenerateResult,
  PolicyReport,
  ProgressEvent,
  Quality,
  ServiceStats,
  SimilarMatch,
  SortField,
} from '../../shared/contract'
import { type ErrorPayload, toErrorPayload } from '../../shared/errors'
import { ACCEPTED_IMAGE_TYPES, MAX_PROMPT_CHARS, MAX_SEED, MAX_UPLOAD_BYTES } from '../../shared/limits'
import { api } from './api'
import { isImageError } from './errors'

export interface PickedImage {
  name: string
  bytes: Uint8Array
}

export interface HistoryPoint {
  time: number
  hitRate: number
  memoryMb: number
}

export interface ModelView {
  key: string
  url: string
  name: string
  /** The GLB's size, for the bound on parsed models kept ready (when known). */
  bytes?: number
}

/** Near-identical pictures' models offered for the chosen picture, before generating. */
export interface SimilarOffer {
  image: PickedImage
  matches: SimilarMatch[]
}

const HISTORY_POINTS = 120

interface State {
  image?: PickedImage
  imageError?: string
  prompt: string
  quality: Quality
  /** Ask the GPU server for a texture (minutes more; a cached untextured shape is textured only). */
  texture: boolean
  seed: number
  /** What the seed field shows, which may be mid-edit and not yet a valid seed. */
  seedText: string
  seedError?: string
  /** The GPU servers' model chosen in the form (offered when they run more than one); absent: the default. */
  gpuModel?: string
  job?: { requestId: string; progress?: ProgressEvent }
  result?: GenerateResult
  /** When the user asked for the result's model (performance.now), until it is on screen. */
  clickedAt?: number
  /** From the click until the result's model was drawn (what the user waited), in ms. */
  shownMs?: number
  /** The model the viewport last drew. */
  shownUrl?: string
  generateError?: ErrorPayload
  model?: ModelView
  /** What became of the last Save GLB, shown beside the preview while that model is. */
  saveStatus?: { key: string; ok: boolean; message: string }
  offer?: SimilarOffer

  stats?: ServiceStats
  history: HistoryPoint[]
  entries?: EntriesPage
  sort: SortField
  order: 'asc' | 'desc'
  config?: CacheConfig
  policyReport?: PolicyReport
  backends: BackendInfo[]
  panelError?: string
  notice?: string

  pickFile(file: File | undefined): Promise<void>
  setPrompt(prompt: string): void
  setQuality(quality: Quality): void
  setTexture(texture: boolean): void
  setGpuModel(model: string | undefined): void
  /** The viewport drew this model's first frame. */
  modelShown(url: string): void
  setSeed(text: string): void
  randomSeed(): void
  checkSimilar(): Promise<void>
  generate(reuse?: 'exact' | 'similar'): Promise<void>
  dismissOffer(): void
  cancel(): Promise<void>
  onProgress(event: ProgressEvent): void
  refresh(): Promise<void>
  refreshBackends(): Promise<void>
  refreshPolicyReport(): Promise<void>
  sortBy(field: SortField): Promise<void>
  open(key: string, name: string): void
  /** 'team' also removes it from the team's shared tier (the caller has asked the user). */
  deleteEntry(key: string, scope?: 'local' | 'team'): Promise<void>
  clear(scope: ClearScope): Promise<number>
  setConfig(config: CacheConfigPatch): Promise<void>
  warm(files: File[]): Promise<void>
  save(): Promise<void>
}

/** How long to wait after the last change of picture or settings before asking for similar models. */
const SIMILAR_CHECK_DELAY_MS = 250

/**
 * As soon as a picture is chosen, and whenever its settings change, asks for models made from
 * a near-identical picture with the same settings. Returns the function that stops watching.
 */
export function watchForSimilar(): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined
  const stop = useStore.subscribe((now, before) => {
    const changed =
      now.image !== before.image ||
      now.prompt !== before.prompt ||
      now.quality !== before.quality ||
      now.texture !== before.texture ||
      now.seed !== before.seed ||
      now.gpuModel !== before.gpuModel
    // A click on Generate settles it: the check would only compete with the answer being shown.
    if (now.job && !before.job) clearTimeout(timer)
    if (!changed || !now.image || now.job) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (!useStore.getState().job) void useStore.getState().checkSimilar()
    }, SIMILAR_CHECK_DELAY_MS)
  })
  return () => {
    clearTimeout(timer)
    stop()
  }
}

/** Checks a file before it is uploaded; the app checks it again, properly. */
export function checkFile(file: File): string | undefined {
  if (file.size === 0) return 'The file is empty.'
  if (file.size > MAX_UPLOAD_BYTES) return `The file is larger than ${MAX_UPLOAD_BYTES / 1024 ** 2} MB.`
  if (!(ACCEPTED_IMAGE_TYPES as readonly string[]).includes(file.type)) {
    return 'This file is not a PNG, JPEG or WebP image.'
  }
  return undefined
}

/** The models the GPU servers run, each once, with whether that model's server takes the seed as a sample number. */
export function gpuModels(backends: readonly BackendInfo[]): { model: string; seedIsSample: boolean }[] {
  const servers = backends.find((backend) => backend.gpu)?.servers ?? []
  const models = new Map<string, boolean>()
  for (const server of servers) {
    if (server.model && !models.has(server.model)) models.set(server.model, server.seedIsSample === true)
  }
  return [...models].map(([model, seedIsSample]) => ({ model, seedIsSample }))
}

/** The form's model for a request: named only while the servers offer a choice and still run it. */
function chosenModel(state: Pick<State, 'gpuModel' | 'backends'>): { model?: string } {
  const models = gpuModels(state.backends)
  return state.gpuModel && models.length > 1 && models.some((m) => m.model === state.gpuModel)
    ? { model: state.gpuModel }
    : {}
}

/**
 * The model a request from the form is made by, when a GPU server makes it: the chosen one,
 * else the first server's (the default backend's first model). Undefined when the builtin
 * generator answers.
 */
export function formModel(
  state: Pick<State, 'gpuModel' | 'backends'>,
): { model: string; seedIsSample: boolean } | undefined {
  const gpu = state.backends.find((backend) => backend.gpu)
  if (!gpu?.isDefault) return undefined
  const models = gpuModels(state.backends)
  const chosen = chosenModel(state).model
  return models.find((m) => m.model === chosen) ?? models[0]
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

export const useStore = create<State>()((set, get) => ({
  prompt: '',
  quality: 'standard',
  texture: false,
  seed: 1234,
  seedText: '1234',
  history: [],
  sort: 'lastAccessAt',
  order: 'desc',
  backends: [],

  async pickFile(file) {
    if (!file) return
    const problem = checkFile(file)
    if (problem) {
      set({ imageError: problem })
      return
    }
    const bytes = new Uint8Array(await file.arrayBuffer())
    set({
      image: { name: file.name, bytes },
      imageError: undefined,
      generateError: undefined,
      offer: undefined,
    })
  },

  setPrompt(prompt) {
    set({ prompt: prompt.slice(0, MAX_PROMPT_CHARS) })
  },

  setQuality(quality) {
    set({ quality })
  },
  setTexture(texture) {
    set({ texture })
  },
  setGpuModel(gpuModel) {
    set({ gpuModel })
  },
  modelShown(url) {
    const { model, clickedAt } = get()
    set({ shownUrl: url })
    if (model?.url === url && clickedAt !== undefined) {
      set({ shownMs: performance.now() - clickedAt, clickedAt: undefined })
      void get().refresh()
    }
  },

  setSeed(text) {
    const seed = Number(text)
    if (text.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      set({ seedText: text, seedError: `Seed must be a whole number from 0 to ${MAX_SEED}.` })
      return
    }
    set({ seed, seedText: text, seedError: undefined })
  },

  randomSeed() {
    const seed = Math.floor(Math.random() * MAX_SEED)
    set({ seed, seedText: String(seed), seedError: undefined })
  },

  async checkSimilar() {
    const { image, prompt, quality, seed, texture, seedError } = get()
    if (!image || seedError) return
    try {
      const { matches } = await api.similar({
        image: image.bytes,
        prompt,
        quality,
        seed,
        texture,
        ...chosenModel(get()),
      })
      // Only for the picture and settings still chosen: the user may have moved on meanwhile.
      const now = get()
      // Asked for already: an offer now would only get in the way.
      if (now.job) return
      const moved = now.prompt !== prompt || now.quality !== quality || now.seed !== seed || now.texture !== texture
      if (now.image !== image || moved) return
      set({ offer: matches.length > 0 ? { image, matches } : undefined })
    } catch {
      // An offer is a convenience: a failure here only means no offer.
      set({ offer: undefined })
    }
  },

  async generate(reuse = 'exact') {
    const { image, prompt, quality, seed, texture, job, seedError } = get()
    // One generation per click: a second click while one runs does nothing.
    if (job) return
    if (!image) {
      set({ imageError: 'Choose an image first.' })
      return
    }
    if (seedError) return
    const requestId = crypto.randomUUID()
    const clickedAt = performance.now()
    set({ job: { requestId }, generateError: undefined, imageError: undefined, offer: undefined, shownMs: undefined })
    try {
      const result = await api.generate({
        image: image.bytes,
        prompt,
        quality,
        seed,
        texture,
        requestId,
        reuse,
        ...chosenModel(get()),
      })
      const model = {
        key: result.key,
        url: result.modelUrl,
        name: modelFileName(prompt, result.key),
        bytes: result.bytes,
      }
      // The model on screen already (the same request again): the wait ends with the answer.
      if (get().shownUrl === model.url) set({ result, model, shownMs: performance.now() - clickedAt })
      else set({ result, model, clickedAt })
    } catch (error) {
      const payload = toErrorPayload(error)
      if (isImageError(payload)) set({ imageError: payload.message })
      else set({ generateError: payload })
    } finally {
      set({ job: undefined })
      // With a model on its way to the screen, the panel catches up once it is drawn (modelShown).
      if (get().clickedAt === undefined) void get().refresh()
    }
  },

  dismissOffer() {
    set({ offer: undefined })
  },

  async cancel() {
    const job = get().job
    if (job) await api.cancel({ requestId: job.requestId }).catch(() => undefined)
  },

  onProgress(event) {
    const job = get().job
    if (job && job.requestId === event.requestId) set({ job: { ...job, progress: event } })
  },

  async refresh() {
    try {
      const { sort, order } = get()
      const [stats, entries, config] = await Promise.all([
        api.stats(),
        api.entries({ sort, order, limit: 200 }),
        api.getConfig(),
      ])
      const point = { time: Date.now(), hitRate: stats.hitRate * 100, memoryMb: stats.currentBytes / 1024 ** 2 }
      set({ stats, entries, config, history: [...get().history, point].slice(-HISTORY_POINTS), panelError: undefined })
    } catch (error) {
      set({ panelError: toErrorPayload(error).message })
    }
  },

  async refreshBackends() {
    try {
      set({ backends: await api.backends() })
    } catch {
      // The header simply keeps showing the last answer.
    }
  },

  async refreshPolicyReport() {
    try {
      set({ policyReport: await api.policyReport() })
    } catch {
      // The comparison is a nicety: keep the last one.
    }
  },

  async sortBy(field) {
    const { sort, order } = get()
    set({ sort: field, order: sort === field && order === 'desc' ? 'asc' : 'desc' })
    await get().refresh()
  },

  open(key, name) {
    const bytes = get().entries?.items.find((entry) => entry.key === key)?.bytes
    set({ model: { key, url: api.modelUrl(key), name, ...(bytes ? { bytes } : {}) } })
  },

  async deleteEntry(key, scope = 'local') {
    try {
      await api.deleteEntry({ key, scope })
      if (get().model?.key === key) set({ model: undefined, shownUrl: undefined })
      set({ notice: 'Model removed from the cache.' })
    } catch (error) {
      set({ panelError: toErrorPayload(error).message })
    }
    await get().refresh()
  },

  async clear(scope) {
    try {
      const { removed, removedFromDisk, removedFromShared } = await api.clear({ scope })
      const notice =
        scope === 'memory'
          ? `Cleared ${plural(removed, 'model')} from memory; copies on disk stay.`
          : `Cleared ${plural(removed, 'model')} from memory and ${plural(removedFromDisk, 'model')} from disk${
              scope === 'team' ? ` and ${plural(removedFromShared, 'model')} from the team tier` : ''
            }.`
      set({ ...(scope === 'memory' ? {} : { model: undefined, shownUrl: undefined }), notice })
      await get().refresh()
      return removed
    } catch (error) {
      set({ panelError: toErrorPayload(error).message })
      return 0
    }
  },

  async setConfig(config) {
    await api.setConfig(config)
    set({ notice: 'Settings saved.' })
    await Promise.all([get().refresh(), get().refreshPolicyReport()])
  },

  async warm(files) {
    const { prompt, quality, seed } = get()
    const problems = files.map((f) => [f.name, checkFile(f)] as const).filter(([, p]) => p)
    if (problems.length > 0) {
      set({ panelError: problems.map(([name, p]) => `${name}: ${p}`).join(' ') })
      return
    }
    try {
      const requests = await Promise.all(
        files.map(async (f) => ({ image: new Uint8Array(await f.arrayBuffer()), prompt, quality, seed })),
      )
      const { keys } = await api.warm({ requests })
      set({ notice: `Warming ${plural(keys.length, 'model')} in the background.`, panelError: undefined })
    } catch (error) {
      set({ panelError: toErrorPayload(error).message })
    }
  },

  async save() {
    const model = get().model
    if (!model) return
    set({ saveStatus: undefined })
    try {
      const { saved } = await api.saveModel({ key: model.key, name: model.name })
      if (saved) set({ saveStatus: { key: model.key, ok: true, message: 'Model saved.' } })
    } catch (error) {
      set({ saveStatus: { key: model.key, ok: false, message: toErrorPayload(error).message } })
    }
  },
}))
