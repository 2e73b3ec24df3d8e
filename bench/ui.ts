import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from '@playwright/test'
import react from '@vitejs/plugin-react'
import { build } from 'vite'
import { createAppService } from '../src/core/service/create-service'
import { buildHost } from '../src/server/app'
import { appAddresses } from '../src/shared/addresses'
import { builtFile, ROOT } from './built'
import { runFeltSpeedBench } from './felt-speed'
import { type BenchReport, fmt, markdownTable, median } from './lib'

/**
 * Time to the first screen of the browser host in Chromium: the renderer as one script
 * (everything inlined, as before the split) against the split build (three.js and the chart
 * load later), both built here with the same Vite settings and served by the same host, in
 * alternation, each load in a fresh browser context (nothing cached).
 */

const LOADS = 12

async function buildRenderer(split: boolean): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), `meshcache-renderer-${split ? 'split' : 'single'}-`))
  await build({
    root: join(ROOT, 'src/renderer'),
    base: './',
    logLevel: 'silent',
    plugins: [react()],
    build: {
      outDir,
      emptyOutDir: true,
      minify: true,
      rollupOptions: split ? {} : { output: { inlineDynamicImports: true } },
    },
  })
  return outDir
}

/** The script index.html loads (and the modules it preloads): what the first screen waits for. */
function initialScriptKb(dir: string): number {
  const html = readFileSync(join(dir, 'index.html'), 'utf8')
  const scripts = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+\.js)"/g)].map((m) => m[1] as string)
  return scripts.reduce((sum, path) => sum + statSync(join(dir, path)).size / 1024, 0)
}

function totalScriptKb(dir: string): number {
  return readdirSync(join(dir, 'assets'))
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + statSync(join(dir, 'assets', name)).size / 1024, 0)
}

export async function runUiBench(): Promise<BenchReport> {
  const variants = [
    { name: 'one script (before the split)', dir: await buildRenderer(false) },
    { name: 'split (three.js and the chart load later)', dir: await buildRenderer(true) },
  ]
  const service = await createAppService({
    config: { hunyuanServers: [], dataDir: undefined },
    workerPath: builtFile('main/builtin-worker.js'),
    addresses: appAddresses,
  })
  const hosts = await Promise.all(
    variants.map(async (variant) => {
      const app = await buildHost({ service, staticDir: variant.dir })
      await app.listen({ host: '127.0.0.1', port: 0 })
      return { ...variant, app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/` }
    }),
  )
  const executablePath =
    process.env.MESHCACHE_CHROMIUM ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined)
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-background-networking'] })
  const times = new Map<string, number[]>(hosts.map((h) => [h.name, []]))
  try {
    for (let i = 0; i < LOADS + 1; i++) {
      for (const host of i % 2 ? [...hosts].reverse() : hosts) {
        const context = await browser.newContext()
        const page = await context.newPage()
        await page.goto(host.url)
        await page.getByRole('heading', { name: 'New model' }).waitFor()
        // Milliseconds from the start of navigation to the first screen being there.
        const ms = await page.evaluate(() => performance.now())
        if (i > 0) times.get(host.name)?.push(ms)
        await context.close()
      }
    }
  } finally {
    await browser.close()
    await Promise.all(hosts.map((h) => h.app.close()))
    await service.close()
  }
  const before = median(times.get(hosts[0]?.name as string) ?? [])
  const rows = hosts.map((host) => {
    const ms = median(times.get(host.name) ?? [])
    return [host.name, fmt(initialScriptKb(host.dir)), fmt(totalScriptKb(host.dir)), fmt(ms), `${fmt(before / ms, 2)}x`]
  })
  const firstScreen = markdownTable(
    ['renderer build', 'initial script KB', 'all scripts KB', `first screen ms (median of ${LOADS})`, 'speed-up'],
    rows,
  )
  const felt = await runFeltSpeedBench()
  return {
    name: 'ui',
    table: `${firstScreen}

${felt.table}`,
    data: { loads: LOADS, results: Object.fromEntries(times), felt: felt.data },
  }
}
