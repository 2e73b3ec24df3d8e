import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import { CONTENT_SECURITY_POLICY } from './src/shared/csp'

/** Writes the one CSP (src/shared/csp.ts) into index.html, so the page and both hosts' headers agree. */
const contentSecurityPolicy: Plugin = {
  name: 'meshcache-csp',
  transformIndexHtml: (html) => html.replace('%MESHCACHE_CSP%', CONTENT_SECURITY_POLICY),
}

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        // The browser host is a second entry of the same build, so it runs the very bundle
        // (worker script, sharp, assets) that Electron runs.
        input: {
          index: resolve('src/main/index.ts'),
          'builtin-worker': resolve('src/core/generation/builtin/worker.ts'),
          server: resolve('src/server/main.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload can require only 'electron': everything else is bundled into it.
      externalizeDeps: false,
      rollupOptions: {
        // Sandboxed preloads must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    plugins: [react(), contentSecurityPolicy],
    build: { minify: true },
  },
})
