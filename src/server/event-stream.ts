import type { ServerResponse } from 'node:http'
import type { EventSourceLike } from '../core/dispatch'
import { type EventName, SERVICE_EVENT_NAMES } from '../shared/operations'

const HEARTBEAT_MS = 15_000

/**
 * Server-sent events for every event of the operation table. The stream subscribes to the
 * service once and fans out to every connected client, so a hundred open tabs add a hundred
 * entries to a set, not a hundred listeners to the service.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>()
  private readonly unsubscribe: () => void
  private readonly heartbeat: ReturnType<typeof setInterval>

  constructor(source: EventSourceLike) {
    const listeners = SERVICE_EVENT_NAMES.map((name) => {
      const listener = (payload: unknown): void => this.broadcast(name, payload)
      source.on(name, listener)
      return [name, listener] as const
    })
    this.unsubscribe = () => {
      for (const [name, listener] of listeners) source.off(name, listener)
    }
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), HEARTBEAT_MS)
    this.heartbeat.unref()
  }

  get size(): number {
    return this.clients.size
  }

  attach(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    })
    response.write('retry: 2000\n\n')
    this.clients.add(response)
    response.on('close', () => this.clients.delete(response))
  }

  close(): void {
    clearInterval(this.heartbeat)
    this.unsubscribe()
    for (const client of this.clients) client.end()
    this.clients.clear()
  }

  private broadcast(name: EventName, payload: unknown): void {
    this.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`)
  }

  private write(text: string): void {
    for (const client of this.clients) client.write(text)
  }
}
