import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { LocalServerConfig, LocalServerStatus } from '../shared/contract'
import { AppError } from '../shared/errors'
import type { LaunchFlags } from '../shared/models'
import type { LogFn } from './app-log'
import { HunyuanServer } from './generation/hunyuan/hunyuan-server'

/** Output lines kept for the log view (all of them go to the log file). */
export const OUTPUT_LINES_KEPT = 200

export interface LocalServerOptions {
  log?: LogFn
  /** Told when the server answers (add it to the pool) and when it stops answering. */
  onUp(server: HunyuanServer): void
  onDown(url: string): void
  /** The first wait before a restart; it doubles after each death, up to `maxBackoffMs`. */
  backoffMs?: number
  maxBackoffMs?: number
  /** Between two probes while it starts (loading a model takes minutes). */
  probeEveryMs?: number
  /** How long a stop waits for the process to end before it is killed. */
  stopGraceMs?: number
}

/** The api_server.py command line for a configuration (upstream's flags). */
export function serverArguments(config: LocalServerConfig): string[] {
  return [
    'api_server.py',
    '--host',
    '127.0.0.1',
    '--port',
    String(config.port),
    ...(config.enableTexture ? ['--enable_tex'] : []),
    ...(config.lowVram ? ['--low_vram_mode'] : []),
    ...(config.modelPath ? ['--model_path', config.modelPath] : []),
    ...(config.subfolder ? ['--subfolder', config.subfolder] : []),
    ...(config.texModelPath ? ['--tex_model_path', config.texModelPath] : []),
    ...(config.flashvdm ? ['--enable_flashvdm'] : []),
    ...(config.mcAlgo ? ['--mc_algo', config.mcAlgo] : []),
  ]
}

/** The flags of a configuration that choose the weights: they name the local server's model. */
export function launchFlags(config: LocalServerConfig): LaunchFlags {
  const { modelPath, subfolder, texModelPath, flashvdm, mcAlgo } = config
  return { modelPath, subfolder, texModelPath, flashvdm, mcAlgo }
}

/**
 * For people with a GPU in the same machine: starts a Hunyuan3D checkout's api_server.py
 * with the chosen port and flags, waits until it answers (its output streamed to the log view
 * and the log file), starts it again when it dies (waiting longer after each death), and stops
 * it on quit. While it answers, it is one of the pool's GPU servers.
 */
export class LocalServer {
  private child: ChildProcess | undefined
  private config: LocalServerConfig | undefined
  private state: LocalServerStatus['state'] = 'stopped'
  private problem: string | null = null
  private output: string[] = []
  private restarts = 0
  private failuresInRow = 0
  private stopping = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private server: HunyuanServer | undefined

  constructor(private readonly options: LocalServerOptions) {}

  status(): LocalServerStatus {
    return {
      state: this.state,
      config: this.config ?? null,
      url: this.config && this.state === 'running' ? urlOf(this.config) : null,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      problem: this.problem,
      output: [...this.output],
    }
  }

  /** Starts (or restarts with a new configuration); refuses a checkout without api_server.py. */
  async start(config: LocalServerConfig): Promise<LocalServerStatus> {
    if (!existsSync(join(config.checkout, 'api_server.py'))) {
      throw new AppError('INVALID_REQUEST', `${config.checkout} has no api_server.py: choose the Hunyuan3D folder.`)
    }
    await this.stop()
    this.config = config
    this.stopping = false
    this.restarts = 0
    this.failuresInRow = 0
    this.output = []
    this.problem = null
    this.launch()
    return this.status()
  }

  /** Stops it (and any restart to come); resolves once the process has ended. */
  async stop(): Promise<LocalServerStatus> {
    this.stopping = true
    clearTimeout(this.timer)
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const kill = setTimeout(() => child.kill('SIGKILL'), this.options.stopGraceMs ?? 5_000)
      await ended
      clearTimeout(kill)
    }
    this.down()
    this.state = 'stopped'
    return this.status()
  }

  private launch(): void {
    const config = this.config as LocalServerConfig
    this.state = this.restarts > 0 ? 'restarting' : 'starting'
    const child = spawn(config.python, serverArguments(config), {
      cwd: config.checkout,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    })
    this.child = child
    this.options.log?.('local server starting', { python: config.python, checkout: config.checkout, pid: child.pid })
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.line(line))
    }
    child.once('error', (error) => {
      this.problem = `MeshCache could not start ${config.python}: ${error.message}`
      this.options.log?.('local server could not start', { error: error.message })
    })
    child.once('exit', (code, signal) => this.exited(child, code, signal))
    void this.waitUntilAnswering(child, config)
  }

  private async waitUntilAnswering(child: ChildProcess, config: LocalServerConfig): Promise<void> {
    const server = new HunyuanServer({
      url: urlOf(config),
      source: 'local',
      texture: config.enableTexture,
      launchFlags: launchFlags(config),
    })
    while (this.child === child && child.exitCode === null && child.signalCode === null) {
      const description = await server.describe()
      if (this.child !== child || child.exitCode !== null || child.signalCode !== null) return
      if (description.state !== 'unreachable' && server.identity) {
        this.state = 'running'
        this.failuresInRow = 0
        this.server = server
        this.options.log?.('local server answering', { url: server.url, variant: server.identity.variant })
        this.options.onUp(server)
        return
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.probeEveryMs ?? 1_000))
    }
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return
    this.down()
    const how = signal ? `was ended by ${signal}` : `exited with code ${code}`
    this.options.log?.('local server stopped', { how, stopping: this.stopping })
    if (this.stopping) return
    // Why it stopped last (kept while it runs again); a failed start already said why.
    if (!this.problem?.startsWith('MeshCache could not start')) this.problem = `api_server.py ${how}.`
    this.failuresInRow++
    const wait = Math.min(
      this.options.maxBackoffMs ?? 30_000,
      (this.options.backoffMs ?? 1_000) * 2 ** (this.failuresInRow - 1),
    )
    this.state = 'restarting'
    this.timer = setTimeout(() => {
      this.restarts++
      this.launch()
    }, wait)
  }

  private down(): void {
    if (this.server) this.options.onDown(this.server.url)
    this.server = undefined
  }

  private line(text: string): void {
    this.output.push(text)
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.splice(0, this.output.length - OUTPUT_LINES_KEPT)
    this.options.log?.('local server output', { line: text })
  }
}

function urlOf(config: LocalServerConfig): string {
  return `http://127.0.0.1:${config.port}`
}
