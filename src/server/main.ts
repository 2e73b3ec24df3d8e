/**
 * Entry of the browser host (`npm run serve`): the same service as the Electron app, over
 * HTTP, serving the built renderer. Built beside the Electron main entry in out/main.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openAppLog } from '../core/app-log'
import { HunyuanCompat } from '../core/compat/hunyuan-compat'
import { ConfigError, isLoopback, loopbackNames, readConfig } from '../core/config'
import { createAppService } from '../core/service/create-service'
import { lockDataFolder } from '../core/storage/folder-lock'
import { appAddresses } from '../shared/addresses'
import { buildHost, hostWhenReady } from './app'
import { buildHunyuanHost, hunyuanRoutes } from './hunyuan-routes'

async function main(): Promise<void> {
  const config = readConfig(process.env)
  // One MeshCache per data folder: a second one stops here, before it listens, with one line.
  const folderLock = config.dataDir ? await lockDataFolder(config.dataDir, 'a browser host') : undefined
  const log = await openAppLog(join(config.dataDir ?? join(tmpdir(), 'meshcache'), 'logs'), 'host')
  // Logging never stops the host: where the log went instead is said once, here.
  if (log.problem) console.warn(`MeshCache: ${log.problem}`)
  log.info('MeshCache host starting', { host: config.host, port: config.port, dataDir: config.dataDir ?? null })
  // The host listens first; then the service opens (reads the disk index) and the requests
  // that came meanwhile are answered. The page itself never waits for the index.
  let listening = (): void => undefined
  const ready = new Promise<void>((resolve) => {
    listening = resolve
  }).then(() =>
    createAppService({
      config,
      workerPath: join(import.meta.dirname, 'builtin-worker.js'),
      addresses: appAddresses,
      log: log.info,
    }),
  )
  ready.catch(async (error: unknown) => {
    log.error('start-up failed', { error: String(error) })
    await log.close()
    failed(error)
  })
  const guardOptions = {
    token: config.token,
    allowedHosts: isLoopback(config.host) ? loopbackNames(config.host) : undefined,
  }
  const uploadLimits = {
    stallMs: config.uploadStallMs,
    deadlineMs: config.uploadDeadlineMs,
    bufferBytes: config.uploadBufferBytes,
  }
  const compat = new HunyuanCompat(ready, {
    heldDir: config.dataDir ? join(config.dataDir, 'held') : undefined,
    heldMaxBytes: config.heldMaxBytes,
  })
  const app = await buildHost({
    service: hostWhenReady(ready),
    staticDir: join(import.meta.dirname, '../renderer'),
    ...guardOptions,
    uploadLimits,
    plugins: [hunyuanRoutes(compat, '/hunyuan', uploadLimits)],
  })
  const address = await app.listen({ host: config.host, port: config.port })
  listening()
  const compatHost =
    config.hunyuanCompatPort === undefined ? undefined : await buildHunyuanHost(compat, guardOptions, uploadLimits)
  if (compatHost) {
    const compatAddress = await compatHost.listen({ host: config.host, port: config.hunyuanCompatPort })
    console.log(
      `Hunyuan3D clients (the Blender add-on, scripts) can use ${compatAddress.replace('[::1]', 'localhost')} as their API URL.`,
    )
  }
  const url = address.replace('[::1]', 'localhost')
  await folderLock?.setAddress(url)
  if (config.tokenGenerated) {
    console.log(`MeshCache is served at ${url}/?token=${config.token}`)
    console.log(
      '(MESHCACHE_HOST is not loopback and no MESHCACHE_TOKEN was set, so a token was generated for this run.)',
    )
  } else {
    console.log(`MeshCache is served at ${url}/${config.token ? '?token=<MESHCACHE_TOKEN>' : ''}`)
  }
  log.info('MeshCache host listening', { url, log: log.file })
  const stop = (): void => {
    void Promise.all([app.close(), compatHost?.close()])
      .then(async () => (await ready).close())
      .then(() => folderLock?.release())
      .then(() => log.close())
      .then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

function failed(error: unknown): never {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error)
  console.error(`MeshCache could not start: ${message}`)
  process.exit(1)
}

main().catch(failed)
