import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ModelService } from '../../src/core/service/model-service'
import { localServerShell } from '../../src/main/local-server-shell'
import { closedPort } from '../support/closed-port'
import { FAKE_PYTHON, fakeCheckout } from '../support/fake-hunyuan'
import { until } from '../support/until'

const shells: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(shells.splice(0).map((shell) => shell.close()))
})

/** The shell over a stand-in for the service's GPU servers (what it attaches and detaches). */
function shellIn(folder: string) {
  const servers = { attach: vi.fn(), detach: vi.fn() }
  const shell = localServerShell({
    file: join(folder, 'local-server.json'),
    log: () => undefined,
    service: Promise.resolve({ servers } as unknown as ModelService),
  })
  shells.push(shell)
  return { shell, servers }
}

describe('the desktop local server, saved and resumed', () => {
  it('starts, joins the pool, is saved as running, stops, and resumes only when it was running', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'meshcache-local-shell-'))
    const port = Number(new URL(await closedPort()).port)
    const config = { python: FAKE_PYTHON, checkout: fakeCheckout(), port, enableTexture: false, lowVram: false }
    const first = shellIn(folder)
    expect(first.shell.status()).toMatchObject({ state: 'stopped', config: null })
    await first.shell.start(config)
    await until(() => first.shell.status().state === 'running', 'it answers')
    await until(() => first.servers.attach.mock.calls.length === 1, 'it joined the pool')
    expect(JSON.parse(readFileSync(join(folder, 'local-server.json'), 'utf8'))).toEqual({ enabled: true, config })
    // Quitting stops it but keeps it enabled: the next launch starts it again.
    await first.shell.close()
    const second = shellIn(folder)
    await second.shell.resume()
    await until(() => second.shell.status().state === 'running', 'it was started again on launch')
    expect(await second.shell.stop()).toMatchObject({ state: 'stopped', config })
    expect(JSON.parse(readFileSync(join(folder, 'local-server.json'), 'utf8'))).toMatchObject({ enabled: false })
    const third = shellIn(folder)
    await third.shell.resume()
    expect(third.shell.status()).toMatchObject({ state: 'stopped', config })
  })

  it('starts nothing without saved settings', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'meshcache-local-shell-'))
    const { shell } = shellIn(folder)
    await shell.resume()
    expect(shell.status()).toMatchObject({ state: 'stopped', config: null })
    expect(existsSync(join(folder, 'local-server.json'))).toBe(false)
  })
})
