/// <reference path="./pino-roll.d.ts" />
import { type EventEmitter, once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino, { type Logger } from 'pino'
import pinoRoll from 'pino-roll'

/** One line of the app's log: what happened, and plain facts about it. */
export type LogFn = (message: string, fields?: Record<string, unknown>) => void

export interface AppLog {
  logger: Logger
  /** The file being written now (what Help > Open log file opens). */
  readonly file: string
  /** Whether the log could not go where it was asked to, and went to the temporary folder. */
  readonly fellBack: boolean
  info: LogFn
  warn: LogFn
  error: LogFn
  /** Writes out what is buffered (before quitting). */
  close(): Promise<void>
}

/** Each log file holds at most this much; the four before it are kept. */
export const LOG_FILE_BYTES = '5m'
export const LOG_FILES_KEPT = 4

/**
 * The rotating log of the desktop app and of the browser host (the same lines, pino's JSON)
 * under `<data folder>/logs`: main-process, service and generator events, for a bug report.
 * A folder that cannot be written falls back to the temporary folder, so the start-up error
 * screen can still offer a log that says what failed.
 */
export async function openAppLog(dir: string, name: 'desktop' | 'host'): Promise<AppLog> {
  let folder = dir
  let fellBack = false
  try {
    mkdirSync(folder, { recursive: true })
  } catch {
    folder = join(tmpdir(), 'meshcache-logs')
    mkdirSync(folder, { recursive: true })
    fellBack = true
  }
  const stream = await pinoRoll({
    file: join(folder, name),
    extension: '.log',
    size: LOG_FILE_BYTES,
    limit: { count: LOG_FILES_KEPT },
    mkdir: true,
  })
  // The stream names its file once open (a roll moves it on); closed, it names none: keep the last.
  if (!stream.file) await once(stream as unknown as EventEmitter, 'ready')
  let lastFile = stream.file as string
  const logger = pino({ base: { process: name, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream)
  const at =
    (level: 'info' | 'warn' | 'error'): LogFn =>
    (message, fields) =>
      logger[level](fields ?? {}, message)
  return {
    logger,
    get file() {
      lastFile = stream.file ?? lastFile
      return lastFile
    },
    fellBack,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    async close() {
      const closed = once(stream as unknown as EventEmitter, 'close')
      stream.end() // writes out what is buffered first
      await closed
    },
  }
}
