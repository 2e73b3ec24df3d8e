import { startFakeHunyuan } from '../test/support/fake-hunyuan'
import { fixture } from '../test/support/fixtures'
import { startHost } from './host-client'
import { type BenchReport, fmt, markdownTable } from './lib'

/**
 * GPU time on a replayed Blender add-on session, straight to a Hunyuan3D 2.0 server and
 * through MeshCache's /hunyuan drop-in in front of it. The server is the fake of
 * test/support/fake_hunyuan_server.py; each job it ran is priced at the times cited in
 * Hunyuan3D-2's issues (#127, an A100): 17 s untextured, 120 s textured, so texturing a given
 * mesh costs the difference, 103 s.
 */
export const SHAPE_SECONDS = 17
export const TEXTURED_SECONDS = 120
export const TEXTURE_ONLY_SECONDS = TEXTURED_SECONDS - SHAPE_SECONDS

const PICTURES = ['triposr-robot', 'triposr-chair', 'trellis-lantern', 'triposr-teapot']
/** The add-on's defaults (blender_addon.py). */
const ADDON = { octree_resolution: 256, num_inference_steps: 20, guidance_scale: 5.5 }

/** What one artist does with a picture: make it, make it again, texture it, texture a selected mesh, again. */
async function session(url: string): Promise<number> {
  let requests = 0
  const generate = async (body: Record<string, unknown>): Promise<Buffer> => {
    requests++
    const response = await fetch(`${url}/generate`, { method: 'POST', body: JSON.stringify(body) })
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`)
    return Buffer.from(await response.arrayBuffer())
  }
  for (const name of PICTURES) {
    const image = Buffer.from(fixture(name)).toString('base64')
    const shape = await generate({ image, ...ADDON, texture: false })
    await generate({ image, ...ADDON, texture: false })
    await generate({ image, ...ADDON, texture: true })
    await generate({ mesh: shape.toString('base64'), image, ...ADDON, texture: true })
    await generate({ image, ...ADDON, texture: true })
  }
  return requests
}

/** GPU seconds of the jobs a fake server ran, by what each job did. */
function gpuSeconds(received: Record<string, unknown>[]) {
  let shapeOnly = 0
  let textured = 0
  let textureOnly = 0
  for (const body of received) {
    if (body.mesh !== undefined) textureOnly++
    else if (body.texture === true) textured++
    else shapeOnly++
  }
  return {
    shapeOnly,
    textured,
    textureOnly,
    seconds: shapeOnly * SHAPE_SECONDS + textured * TEXTURED_SECONDS + textureOnly * TEXTURE_ONLY_SECONDS,
  }
}

export async function runShapesBench(): Promise<BenchReport> {
  const direct = await startFakeHunyuan({ variant: '2.0' })
  const requests = await session(direct.url)
  const alone = gpuSeconds((await direct.stats()).received)
  await direct.close()

  const behind = await startFakeHunyuan({ variant: '2.0' })
  const host = await startHost({ MESHCACHE_HUNYUAN_URL: behind.url })
  await session(`${host.url}/hunyuan`)
  const cached = gpuSeconds((await behind.stats()).received)
  host.child.kill('SIGKILL')
  await behind.close()

  const row = (label: string, r: ReturnType<typeof gpuSeconds>) => [
    label,
    r.shapeOnly,
    r.textured,
    r.textureOnly,
    fmt(r.seconds),
    fmt(r.seconds / 60, 1),
  ]
  const table = [
    markdownTable(
      ['Blender session', 'untextured jobs', 'textured jobs', 'texture-only jobs', 'GPU seconds', 'GPU minutes'],
      [row('straight to the Hunyuan3D 2.0 server', alone), row('through MeshCache /hunyuan', cached)],
    ),
    '',
    `${requests} requests (${PICTURES.length} pictures × 5). MeshCache saves ${fmt(alone.seconds - cached.seconds)} GPU seconds (${fmt((100 * (alone.seconds - cached.seconds)) / alone.seconds)} %), ${fmt(alone.seconds / cached.seconds, 2)}x less GPU time; of that, shape reuse (a textured request sent with its cached untextured shape) saves ${SHAPE_SECONDS} s on each of ${cached.textureOnly - alone.textureOnly} requests.`,
  ].join('\n')
  return {
    name: 'shapes',
    table,
    data: { requests, direct: alone, meshcache: cached, SHAPE_SECONDS, TEXTURED_SECONDS },
  }
}
