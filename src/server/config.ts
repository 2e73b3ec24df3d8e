export interface HostConfig {
  host: string
  port: number
  /** The disk tier's folder; undefined keeps models in memory only. */
  dataDir?: string
  token?: string
  /** Host names accepted in the Host header (DNS-rebinding guard on loopback). */
  allowedHosts?: string[]
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1']

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/**
 * Reads MESHCACHE_HOST, MESHCACHE_PORT and MESHCACHE_TOKEN. Loopback by default; any other
 * address only together with a token, because the API can read and erase the cache.
 */
export function readHostConfig(env: Record<string, string | undefined>): HostConfig {
  const host = env.MESHCACHE_HOST?.trim() || '127.0.0.1'
  const portText = env.MESHCACHE_PORT?.trim() || '5917'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new Error(`MESHCACHE_PORT must be a port number (0-65535), got "${portText}"`)
  }
  const token = env.MESHCACHE_TOKEN?.trim() || undefined
  if (token !== undefined && token.length < 16) throw new Error('MESHCACHE_TOKEN must be at least 16 characters long')
  if (!isLoopback(host) && !token) {
    throw new Error(`MESHCACHE_HOST=${host} is not a loopback address: set MESHCACHE_TOKEN too, so only you can use it`)
  }
  return {
    host,
    port,
    token,
    dataDir: dataDirFrom(env),
    allowedHosts: isLoopback(host) ? [...LOOPBACK_NAMES, host] : undefined,
  }
}

/**
 * MESHCACHE_DATA_DIR, else the platform's per-user data folder; "off" (or "none") keeps
 * models in memory only.
 */
function dataDirFrom(env: Record<string, string | undefined>): string | undefined {
  const chosen = env.MESHCACHE_DATA_DIR?.trim()
  if (chosen === 'off' || chosen === 'none') return undefined
  if (chosen) return chosen
  const home = env.HOME ?? env.USERPROFILE
  if (env.XDG_DATA_HOME) return `${env.XDG_DATA_HOME}/meshcache`
  if (env.APPDATA) return `${env.APPDATA}/MeshCache`
  return home ? `${home}/.local/share/meshcache` : undefined
}
