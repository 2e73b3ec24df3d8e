import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as nodeFs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { StorageFs } from '../../src/core/storage/atomic-write'
import { saveModelHandler } from '../../src/main/save-model'

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
    expect(await saveTo(target)({ key: 'a'.repeat(64), name: 'robot' }, {})).toEqual({ saved: true })
    expect(readFileSync(target)).toEqual(Buffer.from(model))
    expect(readdirSync(folder)).toEqual(['robot.glb'])
  })

  it('a full disk leaves the file that was there untouched, and says why', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'meshcache-save-'))
    const target = join(folder, 'robot.glb')
    writeFileSync(target, 'the model saved yesterday')
    await expect(saveTo(target, fullDisk)({ key: 'a'.repeat(64), name: 'robot' }, {})).rejects.toMatchObject({
      code: 'INTERNAL',
      message: `The model could not be saved to ${target}: the disk is full. Any file already there was left as it was.`,
    })
    expect(readFileSync(target, 'utf8')).toBe('the model saved yesterday')
    expect(readdirSync(folder)).toEqual(['robot.glb'])
  })
})
