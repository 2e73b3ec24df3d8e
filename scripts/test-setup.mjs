#!/usr/bin/env node
// Run by `npm test` before the tests that need programs from outside npm: Chromium for the
// UI tests, redis-server for the team tests, and FastAPI with uvicorn (upstream Hunyuan3D's
// own stack) for the fake Hunyuan3D servers. Each one that is missing is installed in the
// way that fits this machine, or the script says in one line what to run, and fails. It
// never lets those tests be skipped silently.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What the tests need, where they look for it, and how each way of getting it is spelt. */
export const TOOLS = [
  {
    name: 'Chromium',
    /** Where the UI tests find it (see playwright.config.ts). */
    env: 'MESHCACHE_CHROMIUM',
    binaries: ['chromium'],
    debianPackage: 'chromium',
    playwright: true,
  },
  {
    name: 'redis-server',
    env: 'MESHCACHE_REDIS_SERVER',
    binaries: ['redis-server'],
    debianPackage: 'redis-server',
    playwright: false,
  },
  {
    name: 'FastAPI and uvicorn',
    /** The Python that runs test/support/fake_hunyuan_server.py (see test/support/fake-hunyuan.ts). */
    env: 'MESHCACHE_FAKE_PYTHON',
    binaries: [],
    pythonModules: ['fastapi', 'uvicorn'],
    debianPackage: 'python3-fastapi python3-uvicorn',
    playwright: false,
  },
]

/** Debian's Python, where Debian's python3-* packages install their modules. */
const DEBIAN_PYTHON = '/usr/bin/python3'

/**
 * The way to get a missing tool on a machine with these facts, in order of preference:
 * Debian's package when running as root with apt-get; Playwright's own download for the
 * browser; otherwise nothing, with the command a person should run.
 */
export function chooseWay(tool, machine) {
  if (machine.root && machine.apt) {
    return {
      way: 'apt',
      commands: [
        ['apt-get', ['update', '-qq']],
        ['apt-get', ['install', '-y', '-qq', ...tool.debianPackage.split(' ')]],
      ],
    }
  }
  if (tool.playwright) return { way: 'playwright', commands: [[machine.npx, ['playwright', 'install', 'chromium']]] }
  return { way: 'none', commands: [] }
}

/** The one line that tells a person what to do when no way worked. */
export function instructions(tool, machine) {
  const apt = `${machine.root ? '' : 'sudo '}apt-get install -y ${tool.debianPackage}`
  const alternatives = tool.playwright
    ? ` (or: npx playwright install chromium, or set ${tool.env} to a Chromium binary)`
    : tool.pythonModules
      ? ` (or set ${tool.env} to a Python that has them)`
      : ` (or set ${tool.env} to a ${tool.name} binary)`
  return `The tests need ${tool.name}, which is not installed and could not be installed here: run "${apt}"${alternatives}, then npm test again.`
}

function onPath(binary, pathVariable = process.env.PATH ?? '') {
  return pathVariable.split(delimiter).some((folder) => folder && existsSync(join(folder, binary)))
}

function importable(python, modules) {
  return spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0
}

export function isPresent(tool, env = process.env, exists = existsSync, findOnPath = onPath, imports = importable) {
  if (tool.pythonModules) return imports(env[tool.env] ?? DEBIAN_PYTHON, tool.pythonModules)
  if (env[tool.env]) return exists(env[tool.env])
  return tool.binaries.some((binary) => findOnPath(binary))
}

function machineFacts() {
  return {
    root: typeof process.getuid === 'function' && process.getuid() === 0,
    apt: onPath('apt-get'),
    npx: process.platform === 'win32' ? 'npx.cmd' : 'npx',
  }
}

function run([command, args]) {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return result.status === 0
}

/** Checks every tool, installs what is missing; returns the instructions of those it could not get. */
export function ensureTools({ tools = TOOLS, machine = machineFacts(), present = isPresent, execute = run } = {}) {
  const problems = []
  // A command that already ran (apt-get update) is not run again for the next tool.
  const done = new Set()
  const once = (command) => {
    const text = JSON.stringify(command)
    if (done.has(text)) return true
    done.add(text)
    return execute(command)
  }
  for (const tool of tools) {
    if (present(tool)) continue
    const { way, commands } = chooseWay(tool, machine)
    console.log(
      `MeshCache tests: ${tool.name} is missing; ${way === 'none' ? 'no way to install it here' : `installing it with ${way}`}.`,
    )
    const installed = way !== 'none' && commands.every(once) && (way === 'playwright' || present(tool))
    if (!installed) problems.push(instructions(tool, machine))
  }
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = ensureTools()
  for (const problem of problems) console.error(problem)
  process.exit(problems.length > 0 ? 1 : 0)
}
