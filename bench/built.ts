import { join } from 'node:path'
import { buildIfStale, ROOT } from '../scripts/build-if-stale.mjs'

export { ROOT }

/** Path of a file in out/, building the app first when the sources changed. */
export function builtFile(relative: string): string {
  buildIfStale()
  return join(ROOT, 'out', relative)
}
