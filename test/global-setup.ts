import { buildIfStale } from '../scripts/build-if-stale.mjs'

/** Tests load the built app (the preload bundle, the host): build it first when the sources changed. */
export default function setup(): void {
  buildIfStale({ quiet: true })
}
