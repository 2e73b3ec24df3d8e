import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Document, NodeIO } from '@gltf-transform/core'

/**
 * FAKE Hunyuan3D-2 api_server.py for tests (the real one needs a GPU). It follows the real
 * protocol: POST /generate answers the GLB bytes; POST /send answers {"uid"}; GET
 * /status/{uid} answers {"status":"processing"} or {"status":"completed","model_base64"};
 * failures are HTTP 404 with {"text": ..., "error_code": 1}; failed /send jobs stay
 * "processing" forever, and unknown uids answer "processing" too. While held (`hold()`),
 * every job waits until the test calls `release()`, so tests never race a clock.
 */
export type FakeBehaviour = 'ok' | 'error' | 'never' | 'garbage'

export interface FakeHunyuan {
  url: string
  behaviour: FakeBehaviour
  /** Polls before a /send job completes. */
  pollsUntilDone: number
  /** The JSON bodies of /generate and /send, in order. */
  received: Record<string, unknown>[]
  /** /generate requests whose client went away before the answer (a cancelled job). */
  abandoned: number
  /** Generations completed (answered /generate, or /send jobs finished). */
  completed: number
  hold(): void
  release(): void
  close(): Promise<void>
}

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

export async function startFakeHunyuan(behaviour: FakeBehaviour = 'ok', served?: Uint8Array): Promise<FakeHunyuan> {
  const glb = Buffer.from(served ?? (await tinyGlb()))
  const jobs = new Map<string, { polls: number; failed: boolean }>()
  let gate: Promise<void> = Promise.resolve()
  let openGate: () => void = () => undefined
  const state = {
    behaviour,
    pollsUntilDone: 1,
    received: [] as Record<string, unknown>[],
    abandoned: 0,
    completed: 0,
    held: false,
    hold() {
      if (state.held) return
      state.held = true
      gate = new Promise((resolve) => {
        openGate = resolve
      })
    },
    release() {
      state.held = false
      openGate()
    },
  }
  const fail = (res: ServerResponse): void => {
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ text: 'CUDA out of memory', error_code: 1 }))
  }
  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
  }
  const model = (): Buffer => (state.behaviour === 'garbage' ? Buffer.from('<html>not a model</html>') : glb)

  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? '/'
    if (req.method === 'POST' && (path === '/generate' || path === '/send')) {
      const params = await readJson(req)
      state.received.push(params)
      if (path === '/send') {
        const uid = randomUUID()
        jobs.set(uid, { polls: 0, failed: state.behaviour === 'error' || state.behaviour === 'never' })
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ uid }))
        return
      }
      if (state.behaviour === 'never') return // the request hangs until the client gives up
      let gone = false
      res.on('close', () => {
        if (res.writableFinished) return
        gone = true
        state.abandoned++
      })
      await gate
      if (gone) return
      if (state.behaviour === 'error') return fail(res)
      state.completed++
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.end(model())
      return
    }
    const status = /^\/status\/([\w-]+)$/.exec(path)
    if (req.method === 'GET' && status) {
      const job = jobs.get(status[1] as string)
      res.writeHead(200, { 'content-type': 'application/json' })
      if (!job || job.failed || state.held || ++job.polls < state.pollsUntilDone) {
        res.end(JSON.stringify({ status: 'processing' }))
        return
      }
      state.completed++
      res.end(JSON.stringify({ status: 'completed', model_base64: model().toString('base64') }))
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ detail: 'Not Found' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        state.release()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}
