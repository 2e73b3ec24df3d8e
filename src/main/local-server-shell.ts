import { z } from 'zod'
import type { LogFn } from '../core/app-log'
import { LocalServer } from '../core/local-server'
import type { ModelService } from '../core/service/model-service'
import { JsonFile } from '../core/storage/json-file'
import type { LocalServerConfig, LocalServerStatus } from '../shared/contract'
import { toErrorPayload } from '../shared/errors'
import { localServerConfigSchema } from '../shared/schemas'
import type { DesktopShell } from './shell-operations'

const savedSchema = z.strictObject({ enabled: z.boolean(), config: localServerConfigSchema })

/**
 * The desktop's local Hunyuan3D server: its settings kept in `local-server.json` (so one that
 * was running is started again on the next launch), its server attached to the pool while it
 * answers, and stopped on quit.
 */
export function localServerShell(options: {
  file: string
  log: LogFn
  service: Promise<ModelService>
}): DesktopShell['localServer'] & { resume(): Promise<void>; close(): Promise<void> } {
  const { log, service } = options
  const saved = new JsonFile(options.file, savedSchema, 'local server settings')
  let lastConfig: LocalServerConfig | undefined
  const local = new LocalServer({
    log,
    onUp: (server) => void service.then((s) => s.servers?.attach(server)),
    onDown: (url) => void service.then((s) => s.servers?.detach(url)),
  })
  const status = (): LocalServerStatus => {
    const now = local.status()
    return { ...now, config: now.config ?? lastConfig ?? null }
  }
  const remember = async (enabled: boolean, config: LocalServerConfig | undefined): Promise<void> => {
    if (!config) return
    lastConfig = config
    await saved
      .save({ enabled, config })
      .catch((error: unknown) => log('local server settings not saved', { error: String(error) }))
  }
  return {
    status,
    async start(config) {
      await local.start(config)
      await remember(true, config)
      return status()
    },
    async stop() {
      await local.stop()
      await remember(false, lastConfig)
      return status()
    },
    async resume() {
      const { value, problem } = await saved.load()
      if (problem) log('local server settings not read', { problem })
      lastConfig = value?.config
      if (!value?.enabled) return
      await local
        .start(value.config)
        .catch((error: unknown) => log('local server not started', { error: toErrorPayload(error).message }))
    },
    // On quit it stops, and starts again on the next launch.
    close: async () => {
      await local.stop()
    },
  }
}
