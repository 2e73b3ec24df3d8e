import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openAppLog } from '../../src/core/app-log'
import { type HostProcess, startHostProcess } from '../support/host-process'

/** Logging never stops the app: a log file that cannot be opened sends the log elsewhere, and says where. */
const hosts: HostProcess[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.stop()))
})

describe('a log that cannot be written', () => {
  it('starts the host anyway, logging to a per-user folder, and says where (the log file is a folder)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshcache-log-fault-'))
    mkdirSync(join(dataDir, 'logs', 'host.1.log'), { recursive: true })
    const host = await startHostProcess({ MESHCACHE_DATA_DIR: dataDir })
    hosts.push(host)
    expect((await fetch(`${host.url}/api/cache/stats`)).status).toBe(200)
    expect(host.output()).toMatch(/The log could not be written in .*logs .*; it is written in .*meshcache-logs-/)
  })

  it('falls back to the console when no folder can be written', async () => {
    const blocked = mkdtempSync(join(tmpdir(), 'meshcache-log-blocked-'))
    mkdirSync(join(blocked, 'desktop.1.log'))
    writeFileSync(join(blocked, 'a-file'), 'not a folder')
    const previous = process.env.TMPDIR
    // The fallback's parent is a file: nothing can be created under it, even by root.
    process.env.TMPDIR = join(blocked, 'a-file', 'no')
    try {
      const log = await openAppLog(blocked, 'desktop')
      expect(log.fellBack).toBe(true)
      expect(log.problem).toMatch(/goes to the console only/)
      log.info('still logs', {})
      await log.close()
    } finally {
      if (previous === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = previous
    }
  })
})
