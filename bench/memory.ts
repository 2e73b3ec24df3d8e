import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { ROOT } from './built'
import { send, startHost } from './host-client'
import { type BenchReport, fmt, markdownTable } from './lib'

/**
 * Peak memory of the host under large pictures, read from the kernel's high-water mark of
 * its resident set (VmHWM), so no peak between two samples is missed: 16 concurrent
 * generations of 4096×4096 pictures, and one warm request of 32 large pictures.
 * Target: under 400 MB each.
 */

const FIXTURES = process.env.MESHCACHE_FIXTURES ?? join(ROOT, 'test/fixtures/images')

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN)
  return kb / 1024
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024
}

/**
 * A 4096×4096 picture of a fixture (distinct per index, so every request is a generation):
 * a PNG, or a JPEG (as photos are sent; a small upload that still decodes to 64 MB of pixels).
 */
async function bigPicture(name: string, index: number, format: 'png' | 'jpeg'): Promise<string> {
  const picture = sharp(join(FIXTURES, `${name}.png`))
    .resize(4096, 4096)
    .modulate({ brightness: 1 + index / 1000 })
  const bytes = await (format === 'png'
    ? picture.png({ compressionLevel: 1 })
    : picture.flatten({ background: '#ffffff' }).jpeg({ quality: 90 })
  ).toBuffer()
  return bytes.toString('base64')
}

async function scenario(
  name: string,
  run: (url: string) => Promise<void>,
): Promise<{ name: string; idleMb: number; peakMb: number }> {
  const host = await startHost({ MESHCACHE_DATA_DIR: 'off' })
  const pid = host.child.pid as number
  await new Promise((resolve) => setTimeout(resolve, 500))
  const idleMb = residentMb(pid)
  await run(host.url)
  const peakMb = peakRssMb(pid)
  host.child.kill('SIGKILL')
  return { name, idleMb, peakMb }
}

export async function runMemoryBench(): Promise<BenchReport> {
  const names = ['trellis-lantern', 'triposr-teapot', 'trellis-pyramid', 'triposr-robot']
  const pngs = await Promise.all(
    Array.from({ length: 16 }, (_, i) => bigPicture(names[i % names.length] as string, i, 'png')),
  )
  // A warm request carries at most four full-size uploads' worth (WARM_BODY_LIMIT): 32
  // pictures of this size fit only as JPEGs.
  const jpegs = await Promise.all(
    Array.from({ length: 32 }, (_, i) => bigPicture(names[i % names.length] as string, i, 'jpeg')),
  )
  const megabytes = (pictures: string[]): number =>
    pictures.reduce((sum, p) => sum + Buffer.byteLength(p), 0) / pictures.length / 1024 / 1024
  const results = [
    await scenario('16 concurrent generations of 4096×4096 pictures', async (url) => {
      const bodies = pngs.map((image, i) => JSON.stringify({ image, quality: 'draft', seed: i }))
      const answers = await Promise.all(
        bodies.map((body) => send(`${url}/api/generate-3d-cached`, 'POST', body, true, false)),
      )
      const failed = answers.filter((a) => a.status !== 200)
      if (failed.length > 0) throw new Error(`generations failed: ${failed[0]?.body.toString()}`)
    }),
    await scenario('one warm request of 32 pictures of 4096×4096 (JPEG)', async (url) => {
      const requests = jpegs.map((image, i) => ({ image, quality: 'draft', seed: 100 + i }))
      const answer = await send(`${url}/api/cache/warm`, 'POST', JSON.stringify({ requests }), true, false)
      if (answer.status !== 202) throw new Error(`warm failed: ${answer.body.toString()}`)
      // Wait for the background generations.
      for (;;) {
        const stats = JSON.parse((await send(`${url}/api/cache/stats`, 'GET')).body.toString()) as {
          loads: number
          loadFailures: number
        }
        if (stats.loads + stats.loadFailures >= requests.length) break
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }),
  ]
  const rows = results.map((r) => [r.name, fmt(r.idleMb), fmt(r.peakMb), r.peakMb < 400 ? 'yes' : 'no'])
  const table = [
    markdownTable(['scenario', 'resident at rest MB', 'peak resident MB', '< 400 MB'], rows),
    '',
    `Uploads (base64, mean): PNG ${fmt(megabytes(pngs), 1)} MB, JPEG ${fmt(megabytes(jpegs), 1)} MB; each decodes to 64 MB of RGBA pixels.`,
  ].join('\n')
  return { name: 'memory', table, data: { pngMb: megabytes(pngs), jpegMb: megabytes(jpegs), results } }
}
