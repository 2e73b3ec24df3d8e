#!/usr/bin/env node
// `npm run serve`: build when the sources changed, then run the browser host (out/main/server.js).
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { buildIfStale, ROOT } from './build-if-stale.mjs'
import { processEnvironment } from './process-environment.mjs'

try {
  buildIfStale({ force: process.argv.includes('--build') })
} catch (error) {
  console.error(`MeshCache: ${error.message}`)
  process.exit(1)
}
const child = spawn(process.execPath, [join(ROOT, 'out/main/server.js')], {
  cwd: ROOT,
  stdio: 'inherit',
  env: processEnvironment(),
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code) => process.exit(code ?? 0))
