import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Path of a file in out/, building the app first when it is missing. */
export function builtFile(relative: string): string {
  const path = join(ROOT, 'out', relative)
  if (!existsSync(path)) {
    const result = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    )
    if (result.status !== 0 || !existsSync(path)) throw new Error(`building the app did not produce ${relative}`)
  }
  return path
}
