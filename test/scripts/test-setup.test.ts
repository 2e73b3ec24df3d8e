import { describe, expect, it, vi } from 'vitest'
import { chooseWay, ensureTools, instructions, isPresent, TOOLS, type Tool } from '../../scripts/test-setup.mjs'

const [chromium, redis, fastapi] = TOOLS as [Tool, Tool, Tool]
const asRoot = { root: true, apt: true, npx: 'npx' }
const asUser = { root: false, apt: true, npx: 'npx' }
const noApt = { root: true, apt: false, npx: 'npx' }

describe('the test setup script', () => {
  it('prefers Debian packages as root with apt-get', () => {
    expect(chooseWay(chromium, asRoot)).toEqual({
      way: 'apt',
      commands: [
        ['apt-get', ['update', '-qq']],
        ['apt-get', ['install', '-y', '-qq', 'chromium']],
      ],
    })
    expect(chooseWay(redis, asRoot).commands.at(-1)).toEqual(['apt-get', ['install', '-y', '-qq', 'redis-server']])
  })

  it("falls back to Playwright's own download for the browser, and to nothing for redis-server", () => {
    for (const machine of [asUser, noApt]) {
      expect(chooseWay(chromium, machine)).toEqual({
        way: 'playwright',
        commands: [['npx', ['playwright', 'install', 'chromium']]],
      })
      expect(chooseWay(redis, machine)).toEqual({ way: 'none', commands: [] })
    }
  })

  it('names the exact command when nothing worked', () => {
    expect(instructions(redis, asUser)).toBe(
      'The tests need redis-server, which is not installed and could not be installed here: run "sudo apt-get install -y redis-server" (or set MESHCACHE_REDIS_SERVER to a redis-server binary), then npm test again.',
    )
    expect(instructions(chromium, asRoot)).toContain(
      'run "apt-get install -y chromium" (or: npx playwright install chromium',
    )
  })

  it('finds a tool by its variable or on the PATH', () => {
    expect(
      isPresent(
        redis,
        { MESHCACHE_REDIS_SERVER: '/opt/redis' },
        (p) => p === '/opt/redis',
        () => false,
      ),
    ).toBe(true)
    expect(
      isPresent(
        redis,
        { MESHCACHE_REDIS_SERVER: '/missing' },
        () => false,
        () => true,
      ),
    ).toBe(false)
    expect(
      isPresent(
        redis,
        {},
        () => false,
        (binary) => binary === 'redis-server',
      ),
    ).toBe(true)
  })

  it('finds the fake servers’ Python modules by importing them with Debian’s Python, or the one named', () => {
    const asked: string[] = []
    const imports = (python: string, modules: string[]): boolean => {
      asked.push(`${python}: ${modules.join(',')}`)
      return python === '/usr/bin/python3'
    }
    expect(
      isPresent(
        fastapi,
        {},
        () => false,
        () => false,
        imports,
      ),
    ).toBe(true)
    expect(
      isPresent(
        fastapi,
        { MESHCACHE_FAKE_PYTHON: '/opt/py' },
        () => true,
        () => true,
        imports,
      ),
    ).toBe(false)
    expect(asked).toEqual(['/usr/bin/python3: fastapi,uvicorn', '/opt/py: fastapi,uvicorn'])
    expect(instructions(fastapi, asUser)).toContain('sudo apt-get install -y python3-fastapi python3-uvicorn')
  })

  it('installs what is missing, running apt-get update once, and reports nothing when it worked', () => {
    const installed = new Set<string>()
    const execute = vi.fn(([, args]: [string, string[]]) => {
      if (args[0] === 'install') installed.add(args.slice(3).join(' '))
      return true
    })
    const problems = ensureTools({ machine: asRoot, present: (tool) => installed.has(tool.debianPackage), execute })
    expect(problems).toEqual([])
    expect(execute.mock.calls.map(([[, args]]) => args.join(' '))).toEqual([
      'update -qq',
      'install -y -qq chromium',
      'install -y -qq redis-server',
      'install -y -qq python3-fastapi python3-uvicorn',
    ])
  })

  it('does nothing when everything is there', () => {
    const execute = vi.fn(() => true)
    expect(ensureTools({ machine: asRoot, present: () => true, execute })).toEqual([])
    expect(execute).not.toHaveBeenCalled()
  })

  it('fails with the instructions when an install fails or no way exists', () => {
    expect(ensureTools({ machine: asRoot, present: () => false, execute: () => false })).toEqual([
      instructions(chromium, asRoot),
      instructions(redis, asRoot),
      instructions(fastapi, asRoot),
    ])
    // Not root: Playwright may fetch the browser; redis-server and the Python modules have no way.
    expect(ensureTools({ machine: asUser, present: () => false, execute: () => true })).toEqual([
      instructions(redis, asUser),
      instructions(fastapi, asUser),
    ])
  })
})
