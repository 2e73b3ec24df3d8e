#!/usr/bin/env node
// The one build-if-stale helper: `npm start`, `npm run serve`, the benchmarks and the tests
// build the app through it when the sources are newer than the last build.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
/** Written after every successful build; its time is the build's time. */
const STAMP = join(ROOT, 'out', '.build-stamp')
const INPUTS = ['src', 'electron.vite.config.ts', 'package-lock.json', 'tsconfig.base.json']

function newestMtime(path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

export function isStale() {
  if (!existsSync(STAMP)) return true
  const built = statSync(STAMP).mtimeMs
  return INPUTS.some((input) => newestMtime(join(ROOT, input)) > built)
}

/** Builds when the sources changed since the last build (or always with `force`). Throws when the build fails. */
export function buildIfStale({ force = false, quiet = false } = {}) {
  if (!force && !isStale()) return false
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
    cwd: ROOT,
    stdio: quiet ? 'pipe' : 'inherit',
    encoding: 'utf8',
  })
  if (build.status !== 0) throw new Error(`the build failed${quiet ? `:\n${build.stdout}${build.stderr}` : ''}`)
  writeFileSync(STAMP, new Date().toISOString())
  return true
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    buildIfStale({ force: process.argv.includes('--force') })
  } catch (error) {
    console.error(`MeshCache: ${error.message}`)
    process.exit(1)
  }
}
