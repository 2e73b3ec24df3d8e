import { describe, expect, it } from 'vitest'
import { ALLOCATOR_SETTINGS, processEnvironment } from '../../scripts/process-environment.mjs'

describe('processEnvironment (what the launchers give the app)', () => {
  it('adds the allocator settings and keeps the rest of the environment', () => {
    const env = processEnvironment({ PATH: '/bin', MESHCACHE_PORT: '0' })
    expect(env).toEqual({ ...ALLOCATOR_SETTINGS, PATH: '/bin', MESHCACHE_PORT: '0' })
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('131072')
  })

  it('lets a setting the user gives win', () => {
    expect(processEnvironment({ MALLOC_MMAP_THRESHOLD_: '33554432' }).MALLOC_MMAP_THRESHOLD_).toBe('33554432')
  })
})
