import { DEFAULT_SHARED_MAX_BYTES } from '../../shared/cache-types'
import type { AppConfig } from '../config'
import type { BuiltinGenerator } from '../generation/builtin/builtin-generator'
import { HunyuanPool } from '../generation/hunyuan/hunyuan-pool'
import type { HunyuanServer } from '../generation/hunyuan/hunyuan-server'
import { redisConnector } from './connect'
import { SharedTier } from './shared-tier'
import { TeamScheduler } from './team-scheduler'

type TeamConfig = Partial<Pick<AppConfig, 'redisPrefix' | 'sharedMaxBytes' | 'teamLockMs'>>

/**
 * Team mode (MESHCACHE_REDIS_URL): the shared tier below the disk, and the team's queues:
 * this host runs builtin jobs, and each GPU server's jobs while it holds that server's lock.
 */
export async function startTeamMode(
  url: string,
  config: TeamConfig,
  builtin: BuiltinGenerator,
  gpus: HunyuanPool | undefined,
): Promise<{ shared: SharedTier; scheduler: TeamScheduler }> {
  const log = (message: string): void => console.warn(`MeshCache: ${message}`)
  const connect = redisConnector(url, log)
  const prefix = config.redisPrefix ?? 'meshcache'
  const shared = new SharedTier({
    redis: connect({ failFast: true }),
    prefix,
    maxBytes: config.sharedMaxBytes ?? DEFAULT_SHARED_MAX_BYTES,
  })
  // One client per server for as long as it is in the pool (servers come and go in the app).
  const clients = new WeakMap<HunyuanServer, HunyuanPool>()
  const clientOf = (server: HunyuanServer): HunyuanPool => {
    const client = clients.get(server) ?? new HunyuanPool([server])
    clients.set(server, client)
    return client
  }
  const scheduler = new TeamScheduler({
    connect: () => connect(),
    prefix,
    lockMs: config.teamLockMs,
    workers: [{ generator: builtin, concurrency: 1 }],
    servers: () =>
      (gpus?.servers ?? []).map((server) => ({
        generator: clientOf(server),
        concurrency: server.settings.concurrency,
        server: server.url,
        route: () => server.route,
      })),
  })
  await scheduler.start()
  return { shared, scheduler }
}
