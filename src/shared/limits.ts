/** Input limits, shared so the renderer can check before uploading and the app enforces. */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024
export const MAX_IMAGE_SIDE = 4096
export const MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE
export const MAX_PROMPT_CHARS = 1000
export const MAX_SEED = 2 ** 31 - 1
/** Hunyuan3D-2's own default seed, used when a request names none. */
export const DEFAULT_SEED = 1234
export const MAX_WARM_REQUESTS = 32
/** Requests one submission may add as jobs (a batch of pictures, or one picture's variants). */
export const MAX_JOB_REQUESTS = 32
/** Finished jobs kept in the list (the oldest go first); waiting and running ones are never dropped. */
export const MAX_FINISHED_JOBS = 500
export const MAX_PAGE_SIZE = 200
export const ACCEPTED_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const

export const MB = 1024 * 1024
export const GB = 1024 * MB

/** What the cache settings may be set to: the schema enforces them, the limits form shows them. */
export const CONFIG_BOUNDS = {
  maxItems: { min: 1, max: 1_000_000 },
  maxBytes: { min: MB, max: 64 * GB },
  diskMaxBytes: { min: 16 * MB, max: 16 * 1024 * GB },
  similarityThreshold: { min: 0, max: 16 },
} as const

/** A JSON body carrying one upload as base64 (a third larger), plus room for the other fields. */
export const GENERATE_BODY_LIMIT = Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 64 * 1024
/** Management bodies are small: limits, a scope. */
export const SMALL_BODY_LIMIT = 64 * 1024
/** A warm batch: several uploads in one body (a large batch is better sent in parts). */
export const WARM_BODY_LIMIT = 4 * GENERATE_BODY_LIMIT
/** A batch of jobs, like a warm batch. */
export const JOBS_BODY_LIMIT = WARM_BODY_LIMIT
