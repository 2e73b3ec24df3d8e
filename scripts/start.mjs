#!/usr/bin/env node
// `npm start`: build when the sources changed, then launch Electron. Where the Electron
// binary cannot be obtained (an offline machine), say so in one line and serve the same app
// through the browser host instead of failing.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { buildIfStale, ROOT } from './build-if-stale.mjs'
import { processEnvironment } from './process-environment.mjs'

try {
  buildIfStale()
} catch (error) {
  console.error(`MeshCache: ${error.message}`)
  process.exit(1)
}

/** Asks the electron package for its binary; it tries to download it when missing. */
function electronBinary() {
  if (process.env.MESHCACHE_NO_ELECTRON === '1') return undefined
  const probe = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("electron"))'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  })
  const path = probe.status === 0 ? probe.stdout.trim() : ''
  return path && existsSync(path) ? path : undefined
}

function run(command, args) {
  const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env: processEnvironment() })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code) => process.exit(code ?? 0))
}

const electron = electronBinary()
if (electron) {
  run(electron, [ROOT, ...process.argv.slice(2)])
} else {
  console.log(
    'Electron cannot start on this machine (its binary could not be downloaded); serving MeshCache in the browser instead.',
  )
  run(process.execPath, [join(ROOT, 'out/main/server.js')])
}
