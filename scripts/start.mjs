#!/usr/bin/env node
// `npm start`: build when the sources are newer than out/, then launch Electron. Where the
// Electron binary cannot be obtained (an offline machine), say so in one line and serve the
// same app through the browser host instead of failing.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })

function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

const builtEntry = join(root, 'out/main/index.js')
const stale =
  !existsSync(builtEntry) ||
  newestMtime(join(root, 'src')) > statSync(builtEntry).mtimeMs ||
  statSync(join(root, 'electron.vite.config.ts')).mtimeMs > statSync(builtEntry).mtimeMs
if (stale) {
  const build = run(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'])
  if (build.status !== 0) process.exit(build.status ?? 1)
}

/** Asks the electron package for its binary; it tries to download it when missing. */
function electronBinary() {
  if (process.env.MESHCACHE_NO_ELECTRON === '1') return undefined
  const probe = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("electron"))'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  })
  const path = probe.status === 0 ? probe.stdout.trim() : ''
  return path && existsSync(path) ? path : undefined
}

const electron = electronBinary()
if (electron) {
  const child = spawn(electron, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 0))
} else {
  const server = join(root, 'out/main/server.js')
  if (!existsSync(server)) {
    console.log(
      'Electron cannot start on this machine (its binary could not be downloaded), and no browser host is built.',
    )
    process.exit(0)
  }
  console.log(
    'Electron cannot start on this machine (its binary could not be downloaded); serving MeshCache in the browser instead.',
  )
  const child = spawn(process.execPath, [server], { cwd: root, stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code) => process.exit(code ?? 0))
}
