import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

/** The redis-server binary (Debian's package; MESHCACHE_REDIS_SERVER names another). */
const BINARY = process.env.MESHCACHE_REDIS_SERVER ?? 'redis-server'

export interface RedisServer {
  url: string
  port: number
  /** A client for the test to look at (or damage) what is stored. */
  client(): Redis
  /** kill -9, as a crash. */
  crash(): Promise<void>
  /** Starts it again on the same port (empty: it keeps nothing on disk). */
  restart(): Promise<void>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A real redis-server on a free port, for the team tests; nothing is kept on disk. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const clients: Redis[] = []
  const launch = async (): Promise<void> => {
    child = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: 0,
    })
    probe.on('error', () => undefined)
    for (let i = 0; i < 200; i++) {
      try {
        if (probe.status !== 'ready') await probe.connect().catch(() => undefined)
        if ((await probe.ping()) === 'PONG') break
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    }
    probe.disconnect()
  }
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill(signal)
    await exited
  }
  await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client: () => {
      const client = new Redis({ port, host: '127.0.0.1' })
      client.on('error', () => undefined)
      clients.push(client)
      return client
    },
    crash: () => kill('SIGKILL'),
    restart: launch,
    stop: async () => {
      for (const client of clients) client.disconnect()
      await kill('SIGTERM')
    },
  }
}
