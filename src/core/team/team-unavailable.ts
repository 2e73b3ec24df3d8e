/** Raised when team generation cannot be used right now; the caller generates locally. */
export class TeamUnavailable extends Error {
  override readonly name = 'TeamUnavailable'
}
