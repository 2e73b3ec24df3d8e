import { describe, expect, it } from 'vitest'
import { ConfigError, isLoopback, readConfig } from '../../src/core/config'

describe('readConfig', () => {
  it('binds to loopback by default, with the data folder of the platform', () => {
    expect(readConfig({ HOME: '/home/u' })).toEqual({
      hunyuanServers: [],
      host: '127.0.0.1',
      port: 5917,
      token: undefined,
      tokenGenerated: false,
      dataDir: '/home/u/.local/share/meshcache',
      hunyuanCompatPort: undefined,
      redisUrl: undefined,
      redisPrefix: 'meshcache',
      sharedMaxBytes: 20 * 1024 ** 3,
      gpuConcurrency: 1,
      teamLockMs: 15_000,
      uploadStallMs: 15_000,
      uploadDeadlineMs: 300_000,
      uploadBufferBytes: 32 * 1024 * 1024,
      heldMaxBytes: 512 * 1024 * 1024,
      maxModelBytes: 256 * 1024 * 1024,
      expectedMs: 125_000,
      statusTimeoutMs: 10_000,
    })
    expect(readConfig({ HOME: '/home/u', XDG_DATA_HOME: '/xdg' }).dataDir).toBe('/xdg/meshcache')
    expect(readConfig({ APPDATA: 'C:/Users/u/AppData/Roaming' }).dataDir).toMatch(/MeshCache$/)
    expect(readConfig({ MESHCACHE_DATA_DIR: '/data/mc' }).dataDir).toBe('/data/mc')
    expect(readConfig({ MESHCACHE_DATA_DIR: 'off', HOME: '/home/u' }).dataDir).toBeUndefined()
    expect(readConfig({ MESHCACHE_PORT: '0' }).port).toBe(0)
    expect(readConfig({ MESHCACHE_PORT: '  ' }).port).toBe(5917)
  })

  it('reads every setting: servers as a list, sizes with units', () => {
    const config = readConfig({
      MESHCACHE_HUNYUAN_URL: 'http://gpu1:8081/, https://gpu2:8081#hunyuan3d-2mv,http://gpu3:8080#My%20fine-tune',
      MESHCACHE_HUNYUAN_COMPAT_PORT: '8081',
      MESHCACHE_REDIS_URL: 'rediss://:secret@redis.studio:6380',
      MESHCACHE_REDIS_PREFIX: 'team-a',
      MESHCACHE_SHARED_MAX_BYTES: '500MB',
      MESHCACHE_GPU_CONCURRENCY: '2',
    })
    expect(config).toMatchObject({
      hunyuanServers: [
        { url: 'http://gpu1:8081' },
        { url: 'https://gpu2:8081', model: 'Hunyuan3D-2mv' },
        { url: 'http://gpu3:8080', model: 'My fine-tune' },
      ],
      hunyuanCompatPort: 8081,
      redisUrl: 'rediss://:secret@redis.studio:6380',
      redisPrefix: 'team-a',
      sharedMaxBytes: 500 * 1024 * 1024,
      gpuConcurrency: 2,
    })
  })

  it.each([
    [{ MESHCACHE_PORT: 'eighty' }, 'MESHCACHE_PORT must be a port number (0-65535) (got "eighty")'],
    [{ MESHCACHE_PORT: '70000' }, 'MESHCACHE_PORT must be a port number (0-65535) (got "70000")'],
    [{ MESHCACHE_TOKEN: 'short' }, 'MESHCACHE_TOKEN must be at least 16 characters long (got "short")'],
    [
      { MESHCACHE_TOKEN: 'aaaaaaaaaaaaaaaaaaaa' },
      'MESHCACHE_TOKEN must not be one repeated character (got "aaaaaaaaaaaaaaaaaaaa")',
    ],
    [
      { MESHCACHE_HUNYUAN_URL: 'gpu1:8081' },
      'MESHCACHE_HUNYUAN_URL must be an http:// or https:// URL (got "gpu1:8081")',
    ],
    [{ MESHCACHE_REDIS_URL: 'http://x' }, 'MESHCACHE_REDIS_URL must be a redis:// or rediss:// URL (got "http://x")'],
    [
      { MESHCACHE_SHARED_MAX_BYTES: 'lots' },
      'MESHCACHE_SHARED_MAX_BYTES must be a size such as 20GB or 500MB (got "lots")',
    ],
  ])('stops with one line naming the variable for %o', (env, message) => {
    expect(() => readConfig(env)).toThrow(new ConfigError(message))
  })

  it('generates a strong token off loopback instead of refusing to start', () => {
    const first = readConfig({ MESHCACHE_HOST: '0.0.0.0' })
    const second = readConfig({ MESHCACHE_HOST: '0.0.0.0' })
    expect(first.tokenGenerated).toBe(true)
    expect(first.token).toMatch(/^[\w-]{32}$/)
    expect(first.token).not.toBe(second.token)
    const chosen = readConfig({ MESHCACHE_HOST: '0.0.0.0', MESHCACHE_TOKEN: 'correct-horse-battery-staple' })
    expect(chosen).toMatchObject({ token: 'correct-horse-battery-staple', tokenGenerated: false })
  })

  it('knows loopback addresses', () => {
    expect(isLoopback('127.0.0.2')).toBe(true)
    expect(isLoopback('::1')).toBe(true)
    expect(isLoopback('192.168.1.2')).toBe(false)
  })
})
