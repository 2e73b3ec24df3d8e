/** Types of renderer-fake.js (a plain script so the same text runs in Node and in a page). */
export interface RendererTransport {
  invoke(channel: string, args: unknown[]): unknown
  expose?(name: string, api: unknown): void
}

export interface RendererFake {
  createElectron(transport: RendererTransport): {
    electron: { contextBridge: unknown; ipcRenderer: unknown }
    emit(channel: string, payload: unknown): void
    exposed: Record<string, unknown>
  }
  runPreload(
    preload: (require: (name: string) => unknown, module: { exports: unknown }, exports: unknown) => void,
    electron: unknown,
  ): unknown
}

declare global {
  var meshcacheRendererFake: RendererFake
}
