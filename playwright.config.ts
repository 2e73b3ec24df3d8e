import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig, type Project } from '@playwright/test'

export const E2E_PORT = Number(process.env.MESHCACHE_E2E_PORT ?? 5931)
/** The host's disk tier for the UI tests: emptied when the host starts. */
const E2E_DATA_DIR = join(tmpdir(), 'meshcache-e2e-data')

/**
 * Browser: Debian's Chromium where it is installed (Playwright cannot download its own
 * here); MESHCACHE_CHROMIUM names another; elsewhere Playwright's own installed browser.
 */
function chromiumPath(): string | undefined {
  if (process.env.MESHCACHE_CHROMIUM) return process.env.MESHCACHE_CHROMIUM
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined
}

/** An Electron binary only exists where its download succeeded (never on an offline machine). */
function electronBinary(): string | undefined {
  const dir = join(import.meta.dirname, 'node_modules/electron')
  const pathFile = join(dir, 'path.txt')
  if (!existsSync(pathFile)) return undefined
  const binary = join(process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(dir, 'dist'), readFileSync(pathFile, 'utf8'))
  return existsSync(binary) ? binary : undefined
}

const projects: Project[] = [
  {
    name: 'browser',
    use: {
      baseURL: `http://127.0.0.1:${E2E_PORT}`,
      viewport: { width: 1280, height: 800 },
      launchOptions: {
        executablePath: chromiumPath(),
        // WebGL through SwiftShader: headless Chromium on a machine without a GPU.
        args: [
          '--no-sandbox',
          '--use-angle=swiftshader',
          '--enable-unsafe-swiftshader',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      },
    },
  },
]

const electron = electronBinary()
if (electron) {
  projects.push({ name: 'electron', metadata: { electronBinary: electron } })
} else if (!process.env.PLAYWRIGHT_QUIET_ELECTRON) {
  console.log('Playwright: the "electron" project did not run: no Electron binary exists on this machine.')
}

export default defineConfig({
  testDir: 'e2e',
  // One shared host and cache: tests run one after another.
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: { screenshot: 'only-on-failure', trace: 'retain-on-failure' },
  projects,
  webServer: {
    command: `node -e "require('fs').rmSync(process.argv[1], { recursive: true, force: true })" ${E2E_DATA_DIR} && node out/main/server.js`,
    url: `http://127.0.0.1:${E2E_PORT}/api/backends`,
    env: { MESHCACHE_PORT: String(E2E_PORT), MESHCACHE_DATA_DIR: E2E_DATA_DIR },
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
})
