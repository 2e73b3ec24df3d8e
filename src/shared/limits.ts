/** Input limits, shared so the renderer can check before uploading and the main process enforces. */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024
export const MAX_IMAGE_SIDE = 4096
export const MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE
export const MAX_PROMPT_CHARS = 1000
export const MAX_SEED = 2 ** 31 - 1
export const MAX_WARM_REQUESTS = 32
export const MAX_PAGE_SIZE = 200
export const ACCEPTED_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const
