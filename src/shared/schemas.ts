import { z } from 'zod'
import { JOB_ID_PATTERN, MODEL_KEY_PATTERN } from './addresses'
import { decodeBase64 } from './base64'
import { EVICTION_POLICIES } from './cache-types'
import { CLEAR_SCOPES, DESKTOP_ACTIONS, QUALITIES, REUSE_MODES, SORT_FIELDS } from './contract'
import { EXPORT_FORMATS } from './export-formats'
import {
  CONFIG_BOUNDS,
  DEFAULT_SEED,
  MAX_JOB_REQUESTS,
  MAX_PAGE_SIZE,
  MAX_PROMPT_CHARS,
  MAX_SEED,
  MAX_UPLOAD_BYTES,
  MAX_WARM_REQUESTS,
} from './limits'
import { canonicalModelName, MAX_MODEL_NAME_CHARS, MODEL_NAME_PATTERN } from './models'

/** Runtime schemas for every payload that crosses IPC or HTTP. Objects are strict: unknown fields are refused. */

export const keySchema = z.string().regex(MODEL_KEY_PATTERN, 'a model key is 64 lowercase hex characters')

export const requestIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, 'a request id uses letters, digits, - and _ only')

export const qualitySchema = z.enum(QUALITIES, { error: 'quality must be draft, standard or high' })

export const seedSchema = z
  .number({ error: 'seed must be a number' })
  .int('seed must be a whole number')
  .min(0, 'seed must be 0 or more')
  .max(MAX_SEED, `seed must be at most ${MAX_SEED}`)

export const promptSchema = z
  .string({ error: 'prompt must be text' })
  .max(MAX_PROMPT_CHARS, `prompt must be at most ${MAX_PROMPT_CHARS} characters`)

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const bytesSchema = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'must be bytes')

/** Base64 text (optionally a data: URL) as bytes; what JSON clients send for binary fields. */
export const base64BytesSchema = z.string().transform((text, context) => {
  // A data: URL with any media type and parameters (data:;base64, data:image/png;charset=x;base64,).
  const clean = text.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '')
  if (!BASE64.test(clean)) {
    context.addIssue({ code: 'custom', message: 'must be base64-encoded bytes' })
    return z.NEVER
  }
  return decodeBase64(clean)
})

/** An uploaded file: bytes over IPC, base64 text over HTTP. */
export const uploadSchema = z
  .union([bytesSchema, base64BytesSchema], {
    error: 'image must be the bytes of a PNG, JPEG or WebP file (base64 in JSON)',
  })
  .refine((bytes) => bytes.byteLength <= MAX_UPLOAD_BYTES, {
    message: `image file must be at most ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB`,
  })

/** A model's name (published or typed): printable text, a published one in its own spelling. */
export const modelNameSchema = z
  .string({ error: 'model must be text' })
  .trim()
  .min(1, 'name the model')
  .max(MAX_MODEL_NAME_CHARS, `model must be at most ${MAX_MODEL_NAME_CHARS} characters`)
  .regex(MODEL_NAME_PATTERN, 'model must be printable text')
  .transform(canonicalModelName)

/** The picked or dropped file's name, kept as the entry's title when there is no prompt. */
const pictureNameSchema = z
  .string({ error: 'pictureName must be text' })
  .max(255, 'pictureName must be at most 255 characters')
  .regex(/^[^\p{Cc}]*$/u, 'pictureName must be printable text')

export const generateRequestSchema = z.strictObject({
  image: uploadSchema,
  pictureName: pictureNameSchema.optional(),
  prompt: promptSchema.default(''),
  quality: qualitySchema.default('standard'),
  seed: seedSchema.default(DEFAULT_SEED),
  /** Absent: the GPU server's own default (see its settings); the builtin generator ignores it. */
  texture: z.boolean({ error: 'texture must be true or false' }).optional(),
  backend: z.string().min(1).max(64).optional(),
  model: modelNameSchema.optional(),
  requestId: requestIdSchema.optional(),
  reuse: z.enum(REUSE_MODES, { error: "reuse must be 'exact' or 'similar'" }).default('exact'),
})

/** A job's request: the generate body without a request id (the job's id names it). */
export const jobRequestSchema = generateRequestSchema.omit({ requestId: true })

export const submitJobsSchema = z.strictObject({
  requests: z
    .array(jobRequestSchema)
    .min(1, 'give at least one request')
    .max(MAX_JOB_REQUESTS, `give at most ${MAX_JOB_REQUESTS} requests at once`),
})

export const jobIdSchema = z.strictObject({
  id: z.string().regex(JOB_ID_PATTERN, 'a job id is 32 lowercase hex characters'),
})

export const retryJobSchema = jobIdSchema.extend({
  /** Another generator to run it on (its id, as GET /api/backends lists them). */
  backend: z.string({ error: 'backend must be text' }).min(1).max(100).optional(),
})

export const warmSchema = z.strictObject({
  requests: z
    .array(generateRequestSchema)
    .min(1, 'give at least one request to warm')
    .max(MAX_WARM_REQUESTS, `warm at most ${MAX_WARM_REQUESTS} requests at once`),
})

const whole = (name: string, bounds: { min: number; max: number }, unit: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number${unit}`)
    .min(bounds.min, `${name} must be at least ${bounds.min.toLocaleString('en-US')}${unit}`)
    .max(bounds.max, `${name} must be at most ${bounds.max.toLocaleString('en-US')}${unit}`)

export const cacheConfigPatchSchema = z
  .strictObject({
    maxItems: whole('maxItems', CONFIG_BOUNDS.maxItems, ''),
    maxBytes: whole('maxBytes', CONFIG_BOUNDS.maxBytes, ' bytes'),
    diskMaxBytes: whole('diskMaxBytes', CONFIG_BOUNDS.diskMaxBytes, ' bytes'),
    policy: z.enum(EVICTION_POLICIES, { error: "policy must be 'lru' or 'gdsf'" }),
    similarityThreshold: whole('similarityThreshold', CONFIG_BOUNDS.similarityThreshold, ' bits'),
  })
  .partial()
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), {
    message: 'give at least one of maxItems, maxBytes, diskMaxBytes, policy, similarityThreshold',
  })

export const clearSchema = z.strictObject({
  scope: z.enum(CLEAR_SCOPES, { error: "scope must be 'memory', 'all' or 'team'" }),
  /** Models the user keeps go too (by default a clear leaves them). */
  kept: z.boolean({ error: 'kept must be true or false' }).default(false),
})

export const keepEntrySchema = z.strictObject({
  key: keySchema,
  keep: z.boolean({ error: 'keep must be true or false' }),
})

/** Query strings carry text; a whole number written in digits is read as one. */
const count = (bounds: { min: number; max?: number }) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value),
    z
      .number()
      .int()
      .min(bounds.min)
      .max(bounds.max ?? Number.MAX_SAFE_INTEGER),
  )

/** Query strings carry text: 'true' and 'false' are read as the booleans they spell. */
const flag = (name: string) =>
  z.preprocess(
    (value) => (value === 'true' ? true : value === 'false' ? false : value),
    z.boolean({ error: `${name} must be true or false` }),
  )

export const entriesQuerySchema = z
  .strictObject({
    offset: count({ min: 0 }).default(0),
    limit: count({ min: 1, max: MAX_PAGE_SIZE }).default(50),
    sort: z.enum(SORT_FIELDS).default('lastAccessAt'),
    order: z.enum(['asc', 'desc']).default('desc'),
    /** Words every listed model's prompt or picture name contains (case and accents ignored). */
    q: z.string({ error: 'q must be text' }).max(200, 'q must be at most 200 characters').optional(),
    /** Only models made by these weights (an entry's `meta.model`). */
    model: z.string({ error: 'model must be text' }).max(200).optional(),
    quality: qualitySchema.optional(),
    textured: flag('textured').optional(),
    kept: flag('kept').optional(),
  })
  .default({ offset: 0, limit: 50, sort: 'lastAccessAt', order: 'desc' })

export const deleteEntrySchema = z.strictObject({
  key: keySchema,
  /** 'team' also removes it from the team's shared tier. */
  scope: z.enum(['local', 'team']).default('local'),
})

export const cancelSchema = z.strictObject({ requestId: requestIdSchema })

export const saveModelSchema = z.strictObject({
  key: keySchema,
  name: z.string().min(1).max(200),
  format: z.enum(EXPORT_FORMATS, { error: `format must be one of ${EXPORT_FORMATS.join(', ')}` }).default('glb'),
})

/** A GPU server's address: http(s), no credentials, kept without a trailing slash. */
export const gpuServerUrlSchema = z
  .string({ error: 'url must be text' })
  .trim()
  .max(2000, 'url is too long')
  .refine((text) => {
    try {
      const url = new URL(text)
      return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password
    } catch {
      return false
    }
  }, 'url must be an http:// or https:// address such as http://gpu1:8080')
  // The WHATWG form: scheme and host in lower case, no default port, dots resolved, IPv4 shorthands spelled out.
  .transform((text) => new URL(text).href.replace(/\/+$/, ''))

export const GPU_SERVER_ID_PATTERN = /^gpu-[0-9a-f]{12}$/

export const addBackendSchema = z.strictObject({
  url: gpuServerUrlSchema,
  concurrency: z
    .number({ error: 'concurrency must be a number' })
    .int('concurrency must be a whole number')
    .min(1, 'concurrency must be at least 1')
    .max(16, 'concurrency must be at most 16')
    .default(1),
  texture: z.boolean({ error: 'texture must be true or false' }).default(false),
  /** The weights it runs; absent: upstream's default for the variant that answers. */
  model: modelNameSchema.optional(),
})

export const removeBackendSchema = z.strictObject({
  id: z.string().regex(GPU_SERVER_ID_PATTERN, 'a server id is gpu- and 12 hex characters'),
})

export const setBackendModelSchema = z.strictObject({
  id: removeBackendSchema.shape.id,
  model: modelNameSchema,
})

export const testBackendSchema = z.strictObject({ url: gpuServerUrlSchema })

const pathText = (name: string) =>
  z
    .string({ error: `${name} must be text` })
    .trim()
    .min(1, `choose the ${name}`)
    .max(4096, `${name} is too long`)

export const localServerConfigSchema = z.strictObject({
  python: pathText('Python'),
  checkout: pathText('Hunyuan3D folder'),
  port: z
    .number({ error: 'port must be a number' })
    .int('port must be a whole number')
    .min(1024, 'port must be from 1024 to 65535')
    .max(65535, 'port must be from 1024 to 65535')
    .default(8081),
  enableTexture: z.boolean().default(false),
  lowVram: z.boolean().default(false),
  modelPath: z.string().trim().max(4096).optional(),
  subfolder: z.string().trim().max(4096).optional(),
  texModelPath: z.string().trim().max(4096).optional(),
  flashvdm: z.boolean().optional(),
  mcAlgo: z
    .string()
    .trim()
    .regex(/^[\w-]{1,32}$/, 'mc_algo is a short name such as mc or dmc')
    .optional(),
})

export const desktopActionSchema = z.strictObject({
  action: z.enum(DESKTOP_ACTIONS, { error: `action must be one of ${DESKTOP_ACTIONS.join(', ')}` }),
})

/** Operations without arguments accept nothing, or an empty object. */
export const noInputSchema = z.strictObject({}).optional()

/** One readable sentence from a zod error, naming the field. */
export function describeIssues(error: z.ZodError): string {
  const sentences = error.issues.map((issue) =>
    issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
  )
  // One rule can fail several checks with the same words (a whole number, and within bounds).
  return [...new Set(sentences)].join('; ')
}

export type ParsedGenerateRequest = z.output<typeof generateRequestSchema>
export type ParsedJobRequest = z.output<typeof jobRequestSchema>
