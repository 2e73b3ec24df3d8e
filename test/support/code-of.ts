import { toErrorPayload } from '../../src/shared/errors'

/** The error code a call fails with, as the caller sees it; 'resolved' when it does not fail. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'resolved'
  } catch (error) {
    return toErrorPayload(error).code
  }
}
