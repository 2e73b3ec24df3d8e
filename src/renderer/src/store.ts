import { create } from 'zustand'
import { modelFileName } from '../../shared/addresses'
import type {
  BackendInfo,
  CacheConfig,
  CacheConfigPatch,
  ClearScope,
  EntriesPage,
  GenerateResult,
  JobInfo,
  JobsChangedEvent,
  PolicyReport,
  ProgressEvent,
  Quality,
  ServiceStats,
  SimilarMatch,
  SortField,
} from '../../shared/contract'
import { type ErrorPayload, toErrorPayload } from '../../shared/errors'
import type { ExportFormat } from '../../shared/export-formats'
import { ACCEPTED_IMAGE_TYPES, MAX_PAGE_SIZE, MAX_PROMPT_CHARS, MAX_SEED, MAX_UPLOAD_BYTES } from '../../shared/limits'
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

/** How many seeds of one picture one Generate may add (each a job). */
export const MAX_VARIANTS = 16

interface State {
  /** The picture the form shows (the first of those picked). */
  image?: PickedImage
  /** Further pictures picked or dropped with it: Generate adds a job for each. */
  moreImages: PickedImage[]
  imageError?: string
  /** Seeds of each picture Generate adds, from the seed field's up (1: just that seed). */
  variants: number
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
  /** The job of the latest Generate of one request: its progress and result are shown under the form. */
  job?: { requestId: string; progress?: ProgressEvent }
  /** Whether that job's model goes to the preview when done (not once the user opened another model). */
  jobShows: boolean
  /** Every job not yet cleared, oldest first. */
  jobs: JobInfo[]
  /** Jobs that finished since the user last looked (marked new; the window title counts them). */
  unseen: string[]
  /** Job records set aside at start, in words. */
  jobProblems: string[]
  /** The desktop app (it tells of finished jobs with a notification while the window is not focused). */
  desktop: boolean
  result?: GenerateResult
  /** When the user asked for the result's model (performance.now), until it is on screen. */
  clickedAt?: number
  /** From the click until the result's model was drawn (what the user waited), in ms. */
  shownMs?: number
  /** The model the viewport last drew. */
  shownUrl?: string
  generateError?: ErrorPayload
  model?: ModelView
  /** What became of the last save, shown beside the preview while that model is. */
  saveStatus?: { key: string; ok: boolean; message: string }
  /** The format Save writes (the menu's Save model… too). */
  saveFormat: ExportFormat
  /** What the window shows: the form, preview and cache (studio), or every model kept (library). */
  view: 'studio' | 'library'
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
  /** Several pictures at once (the picker, or files dropped on the window): each becomes a job. */
  pickFiles(files: File[]): Promise<void>
  setVariants(text: string): void
  refreshJobs(): Promise<void>
  onJobsChanged(event: JobsChangedEvent): void
  cancelJob(id: string): Promise<void>
  retryJob(id: string): Promise<void>
  /** Stops a job where it runs and queues it on another generator (its GPU server is taking too long). */
  moveJob(id: string, backend: string): Promise<void>
  clearJobs(): Promise<void>
  openJob(id: string): void
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
  /** Shows a stored model in the studio's preview (`bytes`: its size, when the caller knows it). */
  open(key: string, name: string, bytes?: number): void
  /** 'team' also removes it from the team's shared tier (the caller has asked the user). */
  deleteEntry(key: string, scope?: 'local' | 'team'): Promise<void>
  /** Kept models stay unless `kept`. */
  clear(scope: ClearScope, kept?: boolean): Promise<number>
  setConfig(config: CacheConfigPatch): Promise<void>
  warm(files: File[]): Promise<void>
  save(): Promise<void>
  setSaveFormat(format: ExportFormat): void
  setView(view: 'studio' | 'library'): void
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

/** Whether the user keeps a model (asked of the service, page by page: the library may have changed it). */
async function isKept(key: string): Promise<boolean> {
  for (let offset = 0; ; offset += MAX_PAGE_SIZE) {
    const { items, total } = await api.entries({ kept: true, limit: MAX_PAGE_SIZE, offset })
    if (items.some((entry) => entry.key === key)) return true
    if (offset + MAX_PAGE_SIZE >= total) return false
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

/** Desktop only, while the window is not focused: the system says a job finished. */
function notifyFinished(job: JobInfo): void {
  if (!useStore.getState().desktop || document.hasFocus() || typeof Notification === 'undefined') return
  if (job.state === 'cancelled') return
  const name = job.pictureName ?? 'A picture'
  new Notification(job.state === 'done' ? 'Model ready' : 'A job failed', {
    body: job.state === 'done' ? `${name}: its model is ready in MeshCache.` : `${name}: ${job.error ?? 'it failed.'}`,
  })
}

const isFinished = (job: JobInfo): boolean =>
  job.state === 'done' || job.state === 'failed' || job.state === 'cancelled'

/** The form's job ended: its model to the preview (unless the user opened another), or why it did not end well. */
function settleFollowed(job: JobInfo): void {
  const { setState, getState } = useStore
  setState({ job: undefined })
  if (job.state === 'done' && job.result && getState().jobShows) {
    showResult(job.result, job.settings.prompt)
    return
  }
  if (job.state === 'done') setState({ unseen: [...new Set([...getState().unseen, job.id])] })
  if (job.state === 'cancelled') setState({ generateError: { code: 'CANCELLED', message: 'Generation cancelled.' } })
  if (job.state === 'failed')
    setState({ generateError: { code: 'BACKEND_FAILED', message: job.error ?? 'The job failed.' } })
}

/** Shows a finished request's model: at once when it is on screen already, else once drawn (modelShown). */
function showResult(result: GenerateResult, prompt: string): void {
  const state = useStore.getState()
  const model = { key: result.key, url: result.modelUrl, name: modelFileName(prompt, result.key), bytes: result.bytes }
  const clickedAt = state.clickedAt ?? performance.now()
  if (state.shownUrl === model.url)
    useStore.setState({ result, model, shownMs: performance.now() - clickedAt, clickedAt: undefined })
  else useStore.setState({ result, model, clickedAt })
  if (useStore.getState().clickedAt === undefined) void state.refresh()
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
  moreImages: [],
  variants: 1,
  jobShows: false,
  jobs: [],
  unseen: [],
  jobProblems: [],
  desktop: false,
  saveFormat: 'glb',
  view: 'studio',

  async pickFile(file) {
    if (file) await get().pickFiles([file])
  },

  async pickFiles(files) {
    if (files.length === 0) return
    const problems = files.map((file) => [file.name, checkFile(file)] as const).filter(([, problem]) => problem)
    if (problems.length > 0) {
      set({
        imageError: problems.map(([name, problem]) => (files.length > 1 ? `${name}: ${problem}` : problem)).join(' '),
      })
      return
    }
    const [first, ...more] = await Promise.all(
      files.map(async (file) => ({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) })),
    )
    set({ image: first, moreImages: more, imageError: undefined, generateError: undefined, offer: undefined })
  },

  setVariants(text) {
    const count = Number(text)
    set({ variants: Number.isInteger(count) ? Math.min(MAX_VARIANTS, Math.max(1, count)) : 1 })
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
    const { image, moreImages, variants, prompt, quality, seed, texture, seedError } = get()
    if (!image) {
      set({ imageError: 'Choose an image first.' })
      return
    }
    if (seedError) return
    // One job per picture and seed; the form is ready for the next at once.
    const requests = [image, ...moreImages].flatMap((picture) =>
      Array.from({ length: variants }, (_, i) => ({
        image: picture.bytes,
        pictureName: picture.name,
        prompt,
        quality,
        seed: (seed + i) % (MAX_SEED + 1),
        texture,
        reuse,
        ...chosenModel(get()),
      })),
    )
    const clickedAt = performance.now()
    // One request: the form's last result gives way at once to this one's progress.
    const single = requests.length === 1 ? { result: undefined, job: { requestId: '' } } : {}
    set({ generateError: undefined, imageError: undefined, offer: undefined, shownMs: undefined, ...single })
    try {
      const { jobs } = await api.submitJobs({ requests })
      const [only] = jobs
      // One request: the form follows it, and shows its model when done.
      if (jobs.length === 1 && only) set({ job: { requestId: only.id }, jobShows: true, clickedAt, result: undefined })
      for (const job of jobs) {
        // Its events may have come before this answer: the list then knows it further along.
        const known = get().jobs.find((each) => each.id === job.id)
        if (!known) get().onJobsChanged({ job })
        else if (isFinished(known) && get().job?.requestId === known.id) settleFollowed(known)
      }
    } catch (error) {
      const payload = toErrorPayload(error)
      if (isImageError(payload)) set({ imageError: payload.message })
      else set({ generateError: payload })
      if (get().job?.requestId === '') set({ job: undefined })
    }
  },

  async refreshJobs() {
    try {
      const { jobs, problems } = await api.jobs()
      // Events may have told of later states while this answer travelled: the later one stays.
      const local = new Map(get().jobs.map((job) => [job.id, job]))
      const merged = jobs.map((job) => {
        const known = local.get(job.id)
        local.delete(job.id)
        return known && known.revision > job.revision ? known : job
      })
      set({ jobs: [...merged, ...local.values()].sort((a, b) => a.queuedAt - b.queuedAt), jobProblems: problems })
    } catch {
      // The list keeps what it showed.
    }
  },

  onJobsChanged({ job, removed }) {
    if (removed) {
      set({
        jobs: get().jobs.filter((each) => !removed.includes(each.id)),
        unseen: get().unseen.filter((id) => !removed.includes(id)),
      })
    }
    if (!job) return
    const jobs = get().jobs
    const index = jobs.findIndex((each) => each.id === job.id)
    const previous = jobs[index]
    // An answer that comes after the events of its job's later states takes nothing back.
    if (previous && previous.revision > job.revision) return
    const next = index < 0 ? [...jobs, job] : jobs.map((each) => (each.id === job.id ? job : each))
    set({ jobs: next.sort((a, b) => a.queuedAt - b.queuedAt) })
    if (!isFinished(job) || previous?.state === job.state) return
    notifyFinished(job)
    if (get().job?.requestId === job.id) settleFollowed(job)
    // It never takes the preview away from the model being looked at: it is marked new instead.
    else if (job.state === 'done') set({ unseen: [...new Set([...get().unseen, job.id])] })
  },

  async cancelJob(id) {
    await api.cancelJob({ id }).catch((error: unknown) => set({ panelError: toErrorPayload(error).message }))
  },

  async retryJob(id) {
    try {
      get().onJobsChanged({ job: await api.retryJob({ id }) })
    } catch (error) {
      set({ panelError: toErrorPayload(error).message })
    }
  },

  async moveJob(id, backend) {
    try {
      get().onJobsChanged({ job: await api.cancelJob({ id }) })
      get().onJobsChanged({ job: await api.retryJob({ id, backend }) })
    } catch (error) {
      set({ panelError: toErrorPayload(error).message })
    }
  },

  async clearJobs() {
    try {
      await api.clearJobs()
      set({ jobs: get().jobs.filter((job) => !isFinished(job)), unseen: [] })
    } catch (error) {
      set({ panelError: toErrorPayload(error).message })
    }
  },

  openJob(id) {
    const job = get().jobs.find((each) => each.id === id)
    if (!job?.key) return
    set({ unseen: get().unseen.filter((each) => each !== id) })
    get().open(job.key, modelFileName(job.settings.prompt || job.pictureName || '', job.key))
  },

  dismissOffer() {
    set({ offer: undefined })
  },

  async cancel() {
    const job = get().job
    if (job) await api.cancelJob({ id: job.requestId }).catch(() => undefined)
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

  open(key, name, known) {
    const bytes = known ?? get().entries?.items.find((entry) => entry.key === key)?.bytes
    // The user chose what to look at: a job finishing now does not take it away.
    set({
      model: { key, url: api.modelUrl(key), name, ...(bytes ? { bytes } : {}) },
      jobShows: false,
      view: 'studio',
    })
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

  async clear(scope, kept = false) {
    try {
      const { removed, removedFromDisk, removedFromShared, keptLeft } = await api.clear({ scope, kept })
      const cleared =
        scope === 'memory'
          ? `Cleared ${plural(removed, 'model')} from memory; copies on disk stay.`
          : `Cleared ${plural(removed, 'model')} from memory and ${plural(removedFromDisk, 'model')} from disk${
              scope === 'team' ? ` and ${plural(removedFromShared, 'model')} from the team tier` : ''
            }.`
      const notice = keptLeft > 0 ? `${cleared} ${plural(keptLeft, 'kept model')} stayed.` : cleared
      // The model on screen goes with a clear, unless it is one the user keeps.
      const shown = get().model
      // Only when kept models stayed is the service asked whether this is one of them.
      const gone = scope !== 'memory' && shown !== undefined && (kept || keptLeft === 0 || !(await isKept(shown.key)))
      set({ ...(gone ? { model: undefined, shownUrl: undefined } : {}), notice })
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
      const { saved } = await api.saveModel({ key: model.key, name: model.name, format: get().saveFormat })
      if (saved) set({ saveStatus: { key: model.key, ok: true, message: 'Model saved.' } })
    } catch (error) {
      set({ saveStatus: { key: model.key, ok: false, message: toErrorPayload(error).message } })
    }
  },

  setSaveFormat(saveFormat) {
    set({ saveFormat })
  },

  setView(view) {
    set({ view })
  },
}))
