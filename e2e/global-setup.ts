import { buildIfStale } from '../scripts/build-if-stale.mjs'

/** The UI tests drive the built app: build it first when the sources changed. */
export default function setup(): void {
  buildIfStale({ quiet: true })
}
