import { z } from 'zod'
import { QUALITIES } from './contract'
import { MAX_PAGE_SIZE, MAX_PROMPT_CHARS, MAX_SEED, MAX_UPLOAD_BYTES, MAX_WARM_REQUESTS } from './limits'

/** Runtime schemas for every payload that crosses IPC or HTTP. */

export const keySchema = z.string().regex(/^[0-9a-f]{64}$/, 'a model key is 64 lowercase hex characters')

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

const imageBytesSchema = z
  .instanceof(Uint8Array, { message: 'image must be the bytes of a PNG, JPEG or WebP file' })
  .refine((bytes) => bytes.byteLength <= MAX_UPLOAD_BYTES, {
    message: `image file must be at most ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB`,
  })

export const generateRequestSchema = z.strictObject({
  image: imageBytesSchema,
  prompt: promptSchema.default(''),
  quality: qualitySchema.default('standard'),
  seed: seedSchema.default(1234),
  backend: z.string().min(1).max(64).optional(),
  requestId: requestIdSchema.optional(),
})

export const warmRequestSchema = z
  .array(generateRequestSchema)
  .min(1, 'give at least one request to warm')
  .max(MAX_WARM_REQUESTS, `warm at most ${MAX_WARM_REQUESTS} requests at once`)

export const cacheConfigPatchSchema = z
  .strictObject({
    maxItems: z.number().int('maxItems must be a whole number').min(1, 'maxItems must be at least 1').max(1_000_000),
    maxBytes: z
      .number()
      .int('maxBytes must be a whole number of bytes')
      .min(1024 * 1024, 'maxBytes must be at least 1 MB')
      .max(64 * 1024 ** 3, 'maxBytes must be at most 64 GB'),
    diskMaxBytes: z
      .number()
      .int('diskMaxBytes must be a whole number of bytes')
      .min(16 * 1024 * 1024, 'diskMaxBytes must be at least 16 MB')
      .max(16 * 1024 ** 4, 'diskMaxBytes must be at most 16 TB'),
  })
  .partial()
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), {
    message: 'give maxItems, maxBytes, diskMaxBytes or a combination',
  })

export const clearScopeSchema = z.enum(['memory', 'all'], { error: "scope must be 'memory' or 'all'" }).default('all')

export const entriesQuerySchema = z.strictObject({
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  sort: z.enum(['lastAccessAt', 'createdAt', 'bytes', 'hits', 'generationMs', 'prompt']).default('lastAccessAt'),
  order: z.enum(['asc', 'desc']).default('desc'),
})

export const saveModelSchema = z.tuple([keySchema, z.string().min(1).max(200)])

/** One readable sentence from a zod error, naming the field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ')
}

export type ParsedGenerateRequest = z.output<typeof generateRequestSchema>
