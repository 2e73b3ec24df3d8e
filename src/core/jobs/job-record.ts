import { z } from 'zod'
import { JOB_ID_PATTERN } from '../../shared/addresses'
import { JOB_RESUMES, JOB_STATES, QUALITIES, REUSE_MODES, STAGES } from '../../shared/contract'
import type { RemoteHandle } from '../generation/generator'

/**
 * One job as it is kept in the data folder: everything but its picture (a file beside it) and
 * its live progress. Written before the job is acknowledged and after every change of state,
 * so a restart knows what was waiting, what was running where, and what finished.
 */

/** A job a GPU server accepted through /send: collected by its uid after a restart, never sent twice. */
export const remoteSchema = z.object({
  url: z.string().max(2000),
  uid: z.string().regex(/^[\w-]{1,100}$/),
  workerId: z.string().max(200).optional(),
}) satisfies z.ZodType<RemoteHandle>

const settingsSchema = z.object({
  prompt: z.string().max(10_000),
  quality: z.enum(QUALITIES),
  seed: z.number().int().min(0),
  texture: z.boolean().optional(),
  backend: z.string().max(64).optional(),
  model: z.string().max(200).optional(),
  reuse: z.enum(REUSE_MODES),
})

export const JOB_RECORD_VERSION = 1

export const jobRecordSchema = z.object({
  v: z.literal(JOB_RECORD_VERSION),
  id: z.string().regex(JOB_ID_PATTERN),
  state: z.enum(JOB_STATES),
  pictureName: z.string().max(255).nullable(),
  settings: settingsSchema,
  /** SHA-256 of the picture's bytes and the settings: identical requests join one job. */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  queuedAt: z.number(),
  startedAt: z.number().optional(),
  endedAt: z.number().optional(),
  /** Where it was running: a GPU server's URL, or a generator's id. */
  server: z.string().max(2000).optional(),
  /** The last stage reached (kept so a restart can say where it was). */
  stage: z.enum(STAGES).optional(),
  remote: remoteSchema.optional(),
  key: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  cache: z.enum(['hit', 'miss', 'coalesced', 'similar']).optional(),
  error: z.string().max(10_000).optional(),
  resumed: z.enum(JOB_RESUMES).optional(),
  /** Whether its picture is still kept (a done job's is let go; a failed one's is kept for Retry). */
  hasPicture: z.boolean(),
  /** Whether its small picture (for the list) was made: after the job was acknowledged, one at a time. */
  hasSmall: z.boolean().optional(),
})
export type JobRecord = z.infer<typeof jobRecordSchema>
