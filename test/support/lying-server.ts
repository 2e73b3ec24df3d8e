import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A LYING GPU server for the hostile tests: it identifies as Hunyuan3D 2.0's api_server does
 * (no /health: 404; any /status/<uid> answers {"status": "processing"}, as upstream's
 * api_server.py at 9bcf302 does for an unknown uid; /send answers {"uid": …} at once, as
 * upstream's does, so a job sent there is "processing" for ever) and then answers /generate as a broken or
 * hostile server could, which upstream never does:
 * - 'endless-error': HTTP 404 whose JSON body never ends (a server in a loop; 3 GB crashed
 *   MeshCache's V8 before), written as fast as the client reads;
 * - 'big-error': HTTP 404 {"text": <2 MB of text>} (upstream's failure shape, a huge reason);
 * - 'redirect': HTTP 307 to another host, for every route;
 * - 'huge-model': HTTP 200 with a GLB header claiming `hugeBytes` and that many bytes;
 * - 'hung': takes /generate and never answers, nor closes (a hung box: the GPU process stuck,
 *   its HTTP front still accepting, as uvicorn does while its one worker never returns).
 * Any of them can also be made wholly `silent` (every request taken and never answered: a box
 * whose network or process froze), or `dropping` (every connection closed at once, unanswered:
 * a crashed front or a firewall resetting; the socket is destroyed after the request head is
 * read, which Node's fetch (undici) reports as a TypeError "fetch failed" caused by a socket
 * error (UND_ERR_SOCKET, "other side closed"), as it does against a real reset). It counts what it was
 * asked, and whether a client left before the body ended.
 */
export type Lie = 'endless-error' | 'big-error' | 'redirect' | 'huge-model' | 'hung'

export interface LyingServer {
  url: string
  lie: Lie
  /** Requests per path. */
  asked: Map<string, number>
  /** Bodies the client stopped reading before their end. */
  abandoned: number
  /** While true, every request is taken and never answered. */
  silent: boolean
  /** While true, every connection is closed at once without an answer. */
  dropping: boolean
  close(): Promise<void>
}

export async function startLyingServer(lie: Lie, options: { hugeBytes?: number; redirectTo?: string } = {}) {
  const asked = new Map<string, number>()
  const state: LyingServer = {
    url: '',
    lie,
    asked,
    abandoned: 0,
    silent: false,
    dropping: false,
    close: async () => undefined,
  }
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] as string
    asked.set(path, (asked.get(path) ?? 0) + 1)
    request.resume()
    if (state.dropping) {
      request.socket.destroy()
      return
    }
    if (state.silent) return
    if (lie === 'redirect') {
      response.writeHead(307, { location: options.redirectTo ?? 'http://127.0.0.2:9/' }).end()
      return
    }
    if (path === '/send') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ uid: randomUUID() }))
      return
    }
    if (path.startsWith('/status/')) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"processing"}')
      return
    }
    if (path !== '/generate') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}')
      return
    }
    response.on('close', () => {
      if (!response.writableFinished) state.abandoned++
    })
    if (lie === 'hung') return
    if (lie === 'big-error') {
      response.writeHead(404, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ text: `A${'h'.repeat(2 * 1024 * 1024)}`, error_code: 1 }))
      return
    }
    const endless = lie === 'endless-error'
    response.writeHead(endless ? 404 : 200, { 'content-type': endless ? 'application/json' : 'model/gltf-binary' })
    const total = endless ? Number.POSITIVE_INFINITY : (options.hugeBytes ?? 64 * 1024 * 1024)
    const chunk = Buffer.alloc(64 * 1024, endless ? 0x61 : 0)
    let sent = 0
    if (endless) response.write('{"text": "')
    else {
      const header = Buffer.alloc(12)
      header.write('glTF', 0, 'latin1')
      header.writeUInt32LE(2, 4)
      header.writeUInt32LE(Math.min(total, 0xffffffff), 8)
      response.write(header)
      sent = 12
    }
    const pump = (): void => {
      while (sent < total && !response.destroyed) {
        const part = total - sent < chunk.length ? chunk.subarray(0, total - sent) : chunk
        sent += part.length
        if (!response.write(part)) return void response.once('drain', pump)
      }
      if (!response.destroyed) response.end()
    }
    pump()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return state
}
