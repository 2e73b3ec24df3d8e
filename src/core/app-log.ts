/// <reference path="./pino-roll.d.ts" />
import { type EventEmitter, once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import pino, { type Logger } from 'pino'
import pinoRoll from 'pino-roll'

/** One line of the app's log: what happened, and plain facts about it. */
export type LogFn = (message: string, fields?: Record<string, unknown>) => void

export interface AppLog {
  logger: Logger
  /** The file being written now (what Help > Open log file opens). */
  readonly file: string
  /** Whether the log could not go where it was asked to (it went to a per-user fallback, or the console). */
  readonly fellBack: boolean
  /** Where it went instead and why, in words; undefined when all is well. */
  readonly problem?: string
  info: LogFn
  warn: LogFn
  error: LogFn
  /** Writes out what is buffered (before quitting). */
  close(): Promise<void>
}

/** Each log file holds at most this much; the four before it are kept. */
export const LOG_FILE_BYTES = '5m'
export const LOG_FILES_KEPT = 4

/** The per-user fallback folder: never one shared by every user of the machine. */
export function fallbackLogFolder(): string {
  let user = 'user'
  try {
    user = userInfo().username.replace(/[^\w.-]/g, '_') || user
  } catch {
    // No user name (a container without an entry in passwd): the uid still separates users.
    user = `uid-${process.getuid?.() ?? 'unknown'}`
  }
  return join(tmpdir(), `meshcache-logs-${user}`)
}

/** A rotating file stream in `folder`, or why it could not be opened. */
async function rollingStream(folder: string, name: string): Promise<RollStream> {
  mkdirSync(folder, { recursive: true })
  const stream = await pinoRoll({
    file: join(folder, name),
    extension: '.log',
    size: LOG_FILE_BYTES,
    limit: { count: LOG_FILES_KEPT },
    mkdir: true,
  })
  // The stream names its file once open; one that cannot be opened says so with an error.
  if (!stream.file) {
    await Promise.race([
      once(stream as unknown as EventEmitter, 'ready'),
      once(stream as unknown as EventEmitter, 'error').then(([error]) => {
        throw error
      }),
    ])
  }
  return stream
}

type RollStream = Awaited<ReturnType<typeof pinoRoll>>

/**
 * The rotating log of the desktop app and of the browser host (the same lines, pino's JSON)
 * under `<data folder>/logs`: main-process, service and generator events, for a bug report.
 * Logging never stops the app: a folder or file that cannot be written falls back to a
 * per-user folder in the temporary folder, and failing that to the console alone; `problem`
 * says where the log went and why, so the host can say it once.
 */
export async function openAppLog(dir: string, name: 'desktop' | 'host'): Promise<AppLog> {
  let stream: RollStream | undefined
  let problem: string | undefined
  try {
    stream = await rollingStream(dir, name)
  } catch (error) {
    const fallback = fallbackLogFolder()
    problem = `The log could not be written in ${dir} (${(error as Error).message})`
    try {
      stream = await rollingStream(fallback, name)
      problem += `; it is written in ${fallback}.`
    } catch (again) {
      problem += `, nor in ${fallback} (${(again as Error).message}); it goes to the console only.`
    }
  }
  if (!stream) return consoleLog(name, problem as string)
  // A roll moves the file on; closed, the stream names none: keep the last.
  const rolling = stream
  let lastFile = rolling.file as string
  return {
    ...lines(name, stream),
    get file() {
      lastFile = rolling.file ?? lastFile
      return lastFile
    },
    fellBack: problem !== undefined,
    problem,
    async close() {
      const closed = once(rolling as unknown as EventEmitter, 'close')
      rolling.end() // writes out what is buffered first
      await closed
    },
  }
}

/** A pino logger on `destination`, and its levels as LogFns. */
function lines(name: string, destination: pino.DestinationStream): Pick<AppLog, 'logger' | 'info' | 'warn' | 'error'> {
  const logger = pino(
    { base: { process: name, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  )
  const at =
    (level: 'info' | 'warn' | 'error'): LogFn =>
    (message, fields) =>
      logger[level](fields ?? {}, message)
  return { logger, info: at('info'), warn: at('warn'), error: at('error') }
}

/** The log when no file can be written: the same lines on the console (stderr). */
function consoleLog(name: string, problem: string): AppLog {
  const { logger, ...levels } = lines(name, pino.destination(2))
  return {
    logger,
    ...levels,
    file: '',
    fellBack: true,
    problem,
    async close() {
      logger.flush()
    },
  }
}
