import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LOCK_FILE } from '../../src/core/storage/folder-lock'
import { type HostProcess, startHostProcess } from '../support/host-process'

/**
 * Two hosts on one data folder lost acknowledged models (each missed the other's, then tidied
 * away its files): a second start on a folder in use stops with one line naming the folder and
 * the holder; a lock left by a killed host is taken over.
 */
const hosts: HostProcess[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.crash()))
})

async function host(dataDir: string): Promise<HostProcess> {
  const started = await startHostProcess({ MESHCACHE_DATA_DIR: dataDir })
  hosts.push(started)
  return started
}

describe('one host per data folder', () => {
  it('refuses a second host with one line naming the folder and the holder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-lock-'))
    const first = await host(dataDir)
    const second = await startHostProcess({ MESHCACHE_DATA_DIR: dataDir }).catch((error: Error) => error)
    expect(second).toBeInstanceOf(Error)
    const line = `MeshCache could not start: The data folder ${dataDir} is in use by another MeshCache (a browser host, pid ${first.child.pid} at ${first.url}). Stop it first, or choose another folder with MESHCACHE_DATA_DIR.`
    expect((second as Error).message.split('\n').filter(Boolean).slice(1)).toEqual([line])
    // The first is untouched and still answers.
    expect((await fetch(`${first.url}/api/cache/stats`)).status).toBe(200)
  })

  it('takes over the lock of a host killed with -9, and lets the folder go on a clean stop', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-lock-'))
    const killed = await host(dataDir)
    await killed.crash()
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).pid).toBe(killed.child.pid)
    const next = await host(dataDir)
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({
      pid: next.child.pid,
      address: next.url,
    })
    await next.stop()
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
  })
})
