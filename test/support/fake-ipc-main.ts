import type { InvokeEventLike, IpcMainLike } from '../../src/main/ipc'

type Handler = (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>

/**
 * FAKE of Electron's ipcMain (Electron cannot start on this machine). Same shape as the real
 * API: handle(channel, listener) with one handler per channel (a second one throws, as in
 * Electron), removeHandler(channel), and listeners called with an event whose senderFrame
 * carries the calling page's URL.
 */
export class FakeIpcMain implements IpcMainLike {
  private readonly handlers = new Map<string, Handler>()

  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, listener)
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }

  get channels(): string[] {
    return [...this.handlers.keys()]
  }

  /** What ipcRenderer.invoke(channel, ...args) would resolve to, sent from a frame at `url`. */
  invoke(url: string | null, channel: string, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel)
    if (!handler) return Promise.reject(new Error(`No handler registered for '${channel}'`))
    // Electron structured-clones arguments and results; so does this fake.
    return handler({ senderFrame: url === null ? null : { url } }, ...structuredClone(args)).then((r) =>
      structuredClone(r),
    )
  }
}
