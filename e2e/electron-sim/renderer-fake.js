// FAKE of Electron's renderer side for a preload script: `contextBridge` and `ipcRenderer`,
// following Electron's API for what MeshCache's preload uses. Electron's binary cannot run
// on this machine, so tests load the real built preload (out/preload/index.cjs) with this
// stand-in instead: in Node (the IPC conformance tests) and inside a Chromium page (the
// electron-sim Playwright project). It is a plain script with no imports, so the same text
// runs in both places; it defines `globalThis.meshcacheRendererFake`.
;((root) => {
  /**
   * transport.invoke(channel, args) answers what ipcMain's handler answers.
   * Returns { electron, emit }: `emit(channel, payload)` is how the main side's
   * webContents.send reaches the listeners registered with ipcRenderer.on.
   */
  function createElectron(transport) {
    const listeners = new Map()
    const ipcRenderer = {
      invoke(channel, ...args) {
        // Electron structured-clones arguments and results across processes.
        return Promise.resolve(transport.invoke(channel, structuredClone(args))).then((r) => structuredClone(r))
      },
      on(channel, listener) {
        if (!listeners.has(channel)) listeners.set(channel, new Set())
        listeners.get(channel).add(listener)
        return ipcRenderer
      },
      removeListener(channel, listener) {
        listeners.get(channel)?.delete(listener)
        return ipcRenderer
      },
    }
    ipcRenderer.off = ipcRenderer.removeListener
    const exposed = {}
    const contextBridge = {
      /**
       * Like Electron's: the object is copied into the page's world; functions are proxied,
       * and an error crossing the bridge keeps only its message.
       */
      exposeInMainWorld(name, api) {
        const bridged = {}
        for (const [key, value] of Object.entries(api)) {
          bridged[key] =
            typeof value === 'function'
              ? (...args) => {
                  try {
                    const result = value(...args)
                    return result instanceof Promise
                      ? result.catch((error) => {
                          throw new Error(error instanceof Error ? error.message : String(error))
                        })
                      : result
                  } catch (error) {
                    throw new Error(error instanceof Error ? error.message : String(error))
                  }
                }
              : structuredClone(value)
        }
        exposed[name] = Object.freeze(bridged)
        transport.expose?.(name, exposed[name])
      },
    }
    const emit = (channel, payload) => {
      for (const listener of listeners.get(channel) ?? []) listener({ sender: ipcRenderer }, structuredClone(payload))
    }
    return { electron: { contextBridge, ipcRenderer }, emit, exposed }
  }

  /** Runs a CommonJS preload as a sandboxed preload runs: `require` answers 'electron' only. */
  function runPreload(preload, electron) {
    const module = { exports: {} }
    const sandboxedRequire = (name) => {
      if (name === 'electron') return electron
      throw new Error(`Cannot find module '${name}' (a sandboxed preload can only require 'electron')`)
    }
    preload(sandboxedRequire, module, module.exports)
    return module.exports
  }

  root.meshcacheRendererFake = { createElectron, runPreload }
})(globalThis)
