import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'

/** The built browser host (or, for comparing, another build named by MESHCACHE_HOST_BUNDLE). */
export const HOST_BUNDLE = process.env.MESHCACHE_HOST_BUNDLE ?? join(import.meta.dirname, '../../out/main/server.js')

export interface HostProcess {
  url: string
  child: ChildProcess
  /** What the host printed so far. */
  output(): string
  /** Stops it as a user does (Ctrl-C): it saves its indexes first. */
  stop(): Promise<void>
  /** kill -9: no chance to save anything. */
  crash(): Promise<void>
}

/** Starts the built host in a process of its own on a free port and waits until it answers. */
export async function startHostProcess(env: Record<string, string>): Promise<HostProcess> {
  const child = spawn(process.execPath, [HOST_BUNDLE], {
    env: { ...process.env, MESHCACHE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let text = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const match = /served at (http:\/\/[^/\s]+)\//.exec(text)
      if (match) resolve((match[1] as string).replace('0.0.0.0', '127.0.0.1'))
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => reject(new Error(`the host exited (code ${code}):\n${text}`)))
  })
  // The host listens while its service opens: an operation's answer means it is open.
  const token = env.MESHCACHE_TOKEN ?? /\?token=([\w-]+)/.exec(text)?.[1]
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  const ready = await fetch(
    `${url}/api/backends`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  ).catch((error: unknown) => ({ ok: false, status: String(error) }))
  if (!ready.ok) {
    await end('SIGKILL')
    throw new Error(`the host did not open (HTTP ${ready.status}):\n${text}`)
  }
  return { url, child, output: () => text, stop: () => end('SIGTERM'), crash: () => end('SIGKILL') }
}
