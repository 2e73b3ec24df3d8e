import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Document, NodeIO } from '@gltf-transform/core'

/**
 * Starts FAKE Hunyuan3D api_servers (test/support/fake_hunyuan_server.py: upstream's stack,
 * FastAPI + uvicorn, with the GPU work replaced by a gate; its header lists the upstream
 * behaviours it models and their sources). A /generate holds the server's one event loop for
 * the whole job, as upstream's does, so while it runs every other request to that server waits.
 * The test holds and releases jobs through a control port of the fake's own, never a clock.
 */
export type FakeVariant = '2.0' | '2.1'
export type FakeBehaviour = 'ok' | 'error' | 'garbage'

export interface FakeStats {
  /** The bodies of /generate and /send as the worker got them (long strings as length + SHA-256). */
  received: Record<string, unknown>[]
  /** Shape generations run (2.0: jobs without `mesh`; 2.1: every job). */
  shape_jobs: number
  texture_jobs: number
  completed: number
  running: number
  most_running: number
}

export interface FakeHunyuan {
  url: string
  variant: FakeVariant
  /** Jobs wait at the gate until release(). */
  hold(): Promise<void>
  release(): Promise<void>
  /** Texturing (2.1: after the untextured mesh exists, so /status says "texturing") waits until releaseTexture(). */
  holdTexture(): Promise<void>
  releaseTexture(): Promise<void>
  setBehaviour(behaviour: FakeBehaviour): Promise<void>
  /** /status takes each request and answers nothing until thaw() (a hung front, a cut network). */
  freeze(): Promise<void>
  thaw(): Promise<void>
  stats(): Promise<FakeStats>
  /** Waits until the fake has received this many jobs (bounded by the test's timeout). */
  untilReceived(count: number): Promise<FakeStats>
  close(): Promise<void>
  /** Kills the process as a crash would (kill -9). */
  kill(): void
}

/** Debian's Python, which has python3-fastapi and python3-uvicorn (scripts/test-setup.mjs installs them). */
export const FAKE_PYTHON = process.env.MESHCACHE_FAKE_PYTHON ?? '/usr/bin/python3'
export const FAKE_SERVER_SCRIPT = join(import.meta.dirname, 'fake_hunyuan_server.py')

export async function tinyGlb(): Promise<Uint8Array> {
  const doc = new Document()
  const buffer = doc.createBuffer()
  const position = doc
    .createAccessor()
    .setType('VEC3')
    .setArray(new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]))
    .setBuffer(buffer)
  const prim = doc.createPrimitive().setAttribute('POSITION', position)
  doc.createScene().addChild(doc.createNode().setMesh(doc.createMesh().addPrimitive(prim)))
  return new NodeIO().writeBinary(doc)
}

export interface FakeOptions {
  variant?: FakeVariant
  behaviour?: FakeBehaviour
  /** Every model is these bytes (else a small GLB recording what the worker used). */
  served?: Uint8Array
  /** 2.0: started with --enable_tex (default true); without it texture requests fail, as upstream. */
  enableTexture?: boolean
  held?: boolean
  /** Listen on this port (a restart of the same server with other flags); 0 or absent: any free port. */
  port?: number
  /** Upstream's flags that choose the weights (each model's bytes name the weights loaded). */
  weights?: {
    modelPath?: string
    subfolder?: string
    texModelPath?: string
    mv?: boolean
    flashvdm?: boolean
    mcAlgo?: string
  }
}

export async function startFakeHunyuan(options: FakeOptions = {}): Promise<FakeHunyuan> {
  const variant = options.variant ?? '2.0'
  const args = [FAKE_SERVER_SCRIPT, '--variant', variant]
  // --enable_tex is 2.0's flag; 2.1 textures every job and has no such flag.
  if (variant === '2.0' && options.enableTexture !== false) args.push('--enable_tex')
  if (options.port) args.push('--port', String(options.port))
  const weights = options.weights ?? {}
  if (weights.modelPath) args.push('--model_path', weights.modelPath)
  if (weights.subfolder) args.push('--subfolder', weights.subfolder)
  if (weights.texModelPath) args.push('--tex_model_path', weights.texModelPath)
  if (weights.mv) args.push('--mv')
  if (weights.flashvdm) args.push('--enable_flashvdm')
  if (weights.mcAlgo) args.push('--mc_algo', weights.mcAlgo)
  if (options.served) {
    const file = join(mkdtempSync(join(tmpdir(), 'fake-hunyuan-glb-')), 'model.glb')
    writeFileSync(file, options.served)
    args.push('--glb', file)
  }
  const child: ChildProcess = spawn(FAKE_PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const ports = await new Promise<{ port: number; control: number }>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the fake Hunyuan3D server exited (code ${code})`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => resolve(JSON.parse(line)))
  })
  const controlUrl = `http://127.0.0.1:${ports.control}`
  const post = async (path: string): Promise<void> => {
    const response = await fetch(`${controlUrl}${path}`, { method: 'POST' })
    if (!response.ok) throw new Error(`fake control ${path}: HTTP ${response.status}`)
  }
  const stats = async (): Promise<FakeStats> => (await (await fetch(`${controlUrl}/stats`)).json()) as FakeStats
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const fake: FakeHunyuan = {
    url: `http://127.0.0.1:${ports.port}`,
    variant,
    hold: () => post('/hold'),
    release: () => post('/release'),
    holdTexture: () => post('/hold-texture'),
    releaseTexture: () => post('/release-texture'),
    setBehaviour: (behaviour) => post(`/behaviour/${behaviour}`),
    freeze: () => post('/freeze'),
    thaw: () => post('/thaw'),
    stats,
    async untilReceived(count) {
      for (;;) {
        const now = await stats()
        if (now.received.length >= count) return now
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    kill() {
      child.kill('SIGKILL')
    },
  }
  if (options.behaviour && options.behaviour !== 'ok') await fake.setBehaviour(options.behaviour)
  if (options.held) await fake.hold()
  return fake
}

/** A Hunyuan3D "checkout" whose api_server.py is the fake (2.0 unless said), started the way upstream's is. */
export function fakeCheckout(variant: FakeVariant = '2.0'): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-checkout-'))
  writeFileSync(
    join(dir, 'api_server.py'),
    [
      'import runpy, sys',
      `sys.argv = [${JSON.stringify(FAKE_SERVER_SCRIPT)}, '--variant', '${variant}'] + sys.argv[1:]`,
      `runpy.run_path(${JSON.stringify(FAKE_SERVER_SCRIPT)}, run_name='__main__')`,
    ].join('\n'),
  )
  return dir
}
