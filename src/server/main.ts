/**
 * Entry of the browser host (`npm run serve`): the same ModelService as the Electron app,
 * over HTTP, serving the built renderer. Built beside the Electron main entry in out/main.
 */
import { join } from 'node:path'
import { createAppService } from '../main/create-service'
import { buildHost } from './app'
import { readHostConfig } from './config'

async function main(): Promise<void> {
  const config = readHostConfig(process.env)
  const service = await createAppService({
    workerPath: join(import.meta.dirname, 'builtin-worker.js'),
    hunyuanUrl: process.env.MESHCACHE_HUNYUAN_URL,
    modelUrl: (key) => `/models/${key}.glb`,
    dataDir: config.dataDir,
  })
  const disk = service.stats().disk
  if (disk && !disk.enabled) console.warn(`MeshCache: ${disk.lastError}`)
  const app = await buildHost({
    service,
    staticDir: join(import.meta.dirname, '../renderer'),
    token: config.token,
    allowedHosts: config.allowedHosts,
  })
  const address = await app.listen({ host: config.host, port: config.port })
  const url = address.replace('[::1]', 'localhost')
  console.log(`MeshCache is served at ${url}/${config.token ? '?token=<MESHCACHE_TOKEN>' : ''}`)
  const stop = (): void => {
    void app
      .close()
      .then(() => service.flush())
      .then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((error: unknown) => {
  console.error(`MeshCache could not start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
