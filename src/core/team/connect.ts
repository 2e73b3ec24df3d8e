import { Redis } from 'ioredis'

/**
 * Team clients of Redis (ioredis: BullMQ's own client, so the shared tier and the queues use
 * one library). They reconnect by themselves, and an unreachable Redis is reported once per
 * change, never a crash. `failFast` clients (the shared tier's) refuse commands while
 * disconnected instead of queueing them, so a request never waits for Redis to come back.
 */
export function redisConnector(
  url: string,
  report: (message: string) => void,
): (options?: { failFast?: boolean }) => Redis {
  let last = ''
  const onError = (error: Error): void => {
    if (error.message === last) return
    last = error.message
    report(`the team's Redis: ${error.message}`)
  }
  return ({ failFast = false } = {}) => {
    const client = new Redis(url, {
      maxRetriesPerRequest: failFast ? 1 : null,
      enableOfflineQueue: !failFast,
      retryStrategy: (attempt) => Math.min(attempt * 250, 2_000),
    })
    client.on('error', onError)
    client.on('ready', () => {
      last = ''
    })
    return client
  }
}
