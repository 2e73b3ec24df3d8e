import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineConfig, type Project } from '@playwright/test'

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

const chromium = {
  viewport: { width: 1280, height: 800 },
  launchOptions: {
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      // WebGL through SwiftShader: headless Chromium on a machine without a GPU.
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  },
}

const projects: Project[] = [
  // The browser host, one of its own per test.
  { name: 'browser', use: chromium },
  // The built Electron main under the stand-in `electron` module, the real preload in the page.
  { name: 'electron-sim', use: chromium },
]

const electron = electronBinary()
if (electron) {
  projects.push({ name: 'electron', metadata: { electronBinary: electron } })
} else if (!process.env.PLAYWRIGHT_QUIET_ELECTRON) {
  console.log('Playwright: the "electron" project did not run: no Electron binary exists on this machine.')
}

export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  // Each test starts its own app; two at once keep both cores busy without starving them.
  workers: 2,
  fullyParallel: true,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: { screenshot: 'only-on-failure', trace: 'retain-on-failure' },
  projects,
})
