import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as nodeFs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { writeGlb } from '../../src/core/generation/builtin/glb'
import type { StorageFs } from '../../src/core/storage/atomic-write'
import { saveModelHandler } from '../../src/main/save-model'
import { EXPORT_FORMATS } from '../../src/shared/export-formats'

const model = new Uint8Array(64 * 1024).fill(7)

/** Real files, except that every write stops halfway with a full disk. */
const fullDisk: StorageFs = {
  ...nodeFs,
  async open(path, flags) {
    const handle = await nodeFs.open(path, flags)
    if (flags !== 'w') return handle
    return Object.assign(Object.create(handle) as nodeFs.FileHandle, {
      async writeFile(data: Uint8Array) {
        await handle.writeFile(data.subarray(0, data.byteLength / 2))
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
      },
      close: () => handle.close(),
    })
  },
}

function saveTo(target: string, fs?: StorageFs) {
  return saveModelHandler(
    async () => model,
    async () => ({ canceled: false, filePath: target }),
    fs,
  )
}

describe('Save GLB', () => {
  it('writes the whole model to the chosen file, leaving nothing else beside it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'meshcache-save-'))
    const target = join(folder, 'robot.glb')
    expect(await saveTo(target)({ key: 'a'.repeat(64), name: 'robot', format: 'glb' }, {})).toEqual({ saved: true })
    expect(readFileSync(target)).toEqual(Buffer.from(model))
    expect(readdirSync(folder)).toEqual(['robot.glb'])
  })

  it('a full disk leaves the file that was there untouched, and says why', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'meshcache-save-'))
    const target = join(folder, 'robot.glb')
    writeFileSync(target, 'the model saved yesterday')
    await expect(
      saveTo(target, fullDisk)({ key: 'a'.repeat(64), name: 'robot', format: 'glb' }, {}),
    ).rejects.toMatchObject({
      code: 'INTERNAL',
      message: `The model could not be saved to ${target}: the disk is full. Any file already there was left as it was.`,
    })
    expect(readFileSync(target, 'utf8')).toBe('the model saved yesterday')
    expect(readdirSync(folder)).toEqual(['robot.glb'])
  })

  it('offers every format, the asked one first, and writes a textured OBJ with its MTL and texture beside it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'meshcache-save-'))
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'teal' } })
      .png()
      .toBuffer()
    const glb = await writeGlb(
      {
        positions: new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]),
        normals: new Float32Array(9),
        uvs: new Float32Array([0, 0, 1, 0, 0, 1]),
        indices: new Uint32Array([0, 1, 2]),
      },
      { texture: new Uint8Array(png), extras: {} },
    )
    const asked: { defaultPath: string; filters: { extensions: string[] }[] }[] = []
    const save = saveModelHandler(
      async () => glb,
      async (options) => {
        asked.push(options)
        // The user keeps the offered name, and picks OBJ.
        return { canceled: false, filePath: join(folder, 'red robot.obj') }
      },
    )
    expect(await save({ key: 'a'.repeat(64), name: 'red robot', format: 'usdz' }, {})).toEqual({ saved: true })
    expect(asked[0]?.defaultPath).toBe('red robot.usdz')
    expect(asked[0]?.filters.map((f) => f.extensions[0])).toEqual([
      'usdz',
      ...EXPORT_FORMATS.filter((f) => f !== 'usdz'),
    ])
    expect(readdirSync(folder).sort()).toEqual(['red robot.mtl', 'red robot.obj', 'red robot.png'])
    expect(readFileSync(join(folder, 'red robot.obj'), 'utf8')).toMatch(/^mtllib red robot\.mtl\n/)
    expect(readFileSync(join(folder, 'red robot.png')).equals(png)).toBe(true)
  })
})
