import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { z } from 'zod'
import { DEFAULT_HELD_MAX_BYTES, DEFAULT_SHARED_MAX_BYTES, DEFAULT_UPLOAD_BUFFER_BYTES } from '../shared/cache-types'
import { modelNameSchema } from '../shared/schemas'
import { DEFAULT_MAX_MODEL_BYTES, DEFAULT_SERVER_SETTINGS } from './generation/hunyuan/hunyuan-server'

/** Every MESHCACHE_* setting, read once from the environment by `readConfig`. */
export interface AppConfig {
  /**
   * Hunyuan3D api_servers (MESHCACHE_HUNYUAN_URL, comma-separated), each with the model it runs
   * when named after a `#` (`http://gpu1:8080#Hunyuan3D-2`); unnamed: upstream's default for its variant.
   */
  hunyuanServers: { url: string; model?: string }[]
  /** Browser host address and port. */
  host: string
  port: number
  /** Access token: set, or generated when the host is not on loopback. */
  token: string | undefined
  /** True when `token` was generated here: the host prints the URL that carries it. */
  tokenGenerated: boolean
  /** The data folder for the disk tier and settings; undefined keeps models in memory only. */
  dataDir: string | undefined
  /** A port of its own serving Hunyuan3D-2's api_server protocol at its root. */
  hunyuanCompatPort: number | undefined
  /** Team mode: the Redis shared by a team, its key prefix and the shared tier's byte budget. */
  redisUrl: string | undefined
  redisPrefix: string
  sharedMaxBytes: number
  /** Jobs each GPU server runs at once. */
  gpuConcurrency: number
  /** Team mode: how long a job's lock lasts; a dead instance's job is taken over after it. */
  teamLockMs: number
  /** An upload that sends nothing for this long, or is not complete after the deadline, gets 408. */
  uploadStallMs: number
  uploadDeadlineMs: number
  /** Bytes of uploads read and not yet parsed, at most (the oldest upload reads on past it). */
  uploadBufferBytes: number
  /** Memory for finished /send results when there is no data folder to hold them in. */
  heldMaxBytes: number
  /** A model a GPU server sends that is larger than this is refused, never read whole (MESHCACHE_MAX_MODEL_BYTES). */
  maxModelBytes: number
  /**
   * How long a model usually takes on the GPU servers (MESHCACHE_HUNYUAN_EXPECTED_MS): the
   * progress estimate, and past it the app offers to move a job to another generator.
   */
  expectedMs: number
  /** A job's status poll not answered within this marks its server silent (MESHCACHE_HUNYUAN_STATUS_TIMEOUT_MS). */
  statusTimeoutMs: number
}

/** A setting that cannot be used; its message names the variable, in one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1']

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** Host names the browser host answers to on loopback (a guard against DNS rebinding). */
export function loopbackNames(host: string): string[] {
  return [...new Set([...LOOPBACK_NAMES, host])]
}

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number (0-65535)')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number (0-65535)')

const httpUrl = z
  .string()
  .url('must be an http:// or https:// URL')
  .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
  .transform((u) => u.replace(/\/+$/, ''))

/** `URL` or `URL#model`: the fragment, never sent to a server, names the weights it runs. */
const serverEntry = z
  .string()
  .transform((entry) => {
    const hash = entry.indexOf('#')
    return hash < 0 ? { url: entry } : { url: entry.slice(0, hash), model: decodeURIComponent(entry.slice(hash + 1)) }
  })
  .pipe(z.object({ url: httpUrl, model: modelNameSchema.optional() }))

const token = z
  .string()
  .min(16, 'must be at least 16 characters long')
  .refine((t) => new Set(t).size > 1, 'must not be one repeated character')

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 }
const bytes = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb)?\s*$/i, 'must be a size such as 20GB or 500MB')
  .transform((text) => {
    const [, number, unit = ''] = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text) as RegExpExecArray
    return Math.round(Number(number) * (SIZE_UNITS[unit.toLowerCase()] ?? 1))
  })

const milliseconds = z
  .string()
  .regex(/^\d{3,8}$/, 'must be a number of milliseconds from 100 to 99999999')
  .transform(Number)

const schema = z.object({
  MESHCACHE_HUNYUAN_URL: z
    .string()
    .optional()
    .transform((list) =>
      (list ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(serverEntry)),
  MESHCACHE_HOST: z.string().default('127.0.0.1'),
  MESHCACHE_PORT: port.default(5917),
  MESHCACHE_TOKEN: token.optional(),
  MESHCACHE_DATA_DIR: z.string().optional(),
  MESHCACHE_HUNYUAN_COMPAT_PORT: port.optional(),
  MESHCACHE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
  MESHCACHE_REDIS_PREFIX: z
    .string()
    .regex(/^[\w.:-]{1,64}$/, 'must be 1-64 letters, digits, or . : - _')
    .default('meshcache'),
  MESHCACHE_SHARED_MAX_BYTES: bytes.default(DEFAULT_SHARED_MAX_BYTES),
  MESHCACHE_GPU_CONCURRENCY: z
    .string()
    .regex(/^[1-9]\d?$/, 'must be a whole number from 1 to 99')
    .transform(Number)
    .default(1),
  MESHCACHE_UPLOAD_STALL_MS: milliseconds.default(15_000),
  MESHCACHE_UPLOAD_DEADLINE_MS: milliseconds.default(300_000),
  MESHCACHE_UPLOAD_BUFFER_BYTES: bytes.default(DEFAULT_UPLOAD_BUFFER_BYTES),
  MESHCACHE_HELD_MAX_BYTES: bytes.default(DEFAULT_HELD_MAX_BYTES),
  MESHCACHE_MAX_MODEL_BYTES: bytes.default(DEFAULT_MAX_MODEL_BYTES),
  MESHCACHE_HUNYUAN_EXPECTED_MS: milliseconds.default(DEFAULT_SERVER_SETTINGS.expectedMs),
  MESHCACHE_HUNYUAN_STATUS_TIMEOUT_MS: milliseconds.default(DEFAULT_SERVER_SETTINGS.statusTimeoutMs),
  MESHCACHE_TEAM_LOCK_MS: z
    .string()
    .regex(/^\d{3,7}$/, 'must be a number of milliseconds from 100 to 9999999')
    .transform(Number)
    .default(15_000),
})

/**
 * Reads and checks every MESHCACHE_* variable. Empty values count as unset. A bad value
 * throws a ConfigError naming the variable. Off loopback without MESHCACHE_TOKEN, a strong
 * random token is generated (as Jupyter does) rather than refusing to start.
 */
export function readConfig(env: Record<string, string | undefined>): AppConfig {
  const present = Object.fromEntries(
    Object.entries(env)
      .filter(([name, value]) => name.startsWith('MESHCACHE_') && value !== undefined && value.trim() !== '')
      .map(([name, value]) => [name, (value as string).trim()]),
  )
  const parsed = schema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue
    const name = String(issue.path[0] ?? 'a MESHCACHE_ variable')
    throw new ConfigError(`${name} ${issue.message} (got "${present[name] ?? ''}")`)
  }
  const values = parsed.data
  const generated = !values.MESHCACHE_TOKEN && !isLoopback(values.MESHCACHE_HOST)
  return {
    hunyuanServers: values.MESHCACHE_HUNYUAN_URL,
    host: values.MESHCACHE_HOST,
    port: values.MESHCACHE_PORT,
    token: generated ? randomBytes(24).toString('base64url') : values.MESHCACHE_TOKEN,
    tokenGenerated: generated,
    dataDir: dataDirFrom(values.MESHCACHE_DATA_DIR, env),
    hunyuanCompatPort: values.MESHCACHE_HUNYUAN_COMPAT_PORT,
    redisUrl: values.MESHCACHE_REDIS_URL,
    redisPrefix: values.MESHCACHE_REDIS_PREFIX,
    sharedMaxBytes: values.MESHCACHE_SHARED_MAX_BYTES,
    gpuConcurrency: values.MESHCACHE_GPU_CONCURRENCY,
    teamLockMs: values.MESHCACHE_TEAM_LOCK_MS,
    uploadStallMs: values.MESHCACHE_UPLOAD_STALL_MS,
    uploadDeadlineMs: values.MESHCACHE_UPLOAD_DEADLINE_MS,
    uploadBufferBytes: values.MESHCACHE_UPLOAD_BUFFER_BYTES,
    heldMaxBytes: values.MESHCACHE_HELD_MAX_BYTES,
    maxModelBytes: values.MESHCACHE_MAX_MODEL_BYTES,
    expectedMs: values.MESHCACHE_HUNYUAN_EXPECTED_MS,
    statusTimeoutMs: values.MESHCACHE_HUNYUAN_STATUS_TIMEOUT_MS,
  }
}

/** MESHCACHE_DATA_DIR, else the platform's per-user data folder; "off" (or "none") keeps models in memory only. */
function dataDirFrom(chosen: string | undefined, env: Record<string, string | undefined>): string | undefined {
  if (chosen === 'off' || chosen === 'none') return undefined
  if (chosen) return chosen
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'meshcache')
  if (env.APPDATA) return join(env.APPDATA, 'MeshCache')
  const home = env.HOME ?? env.USERPROFILE
  return home ? join(home, '.local', 'share', 'meshcache') : undefined
}
