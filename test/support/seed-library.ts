import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { sha256 } from '../../src/core/sha256'
import { DISK_FORMAT, type DiskRecord } from '../../src/core/storage/disk-records'
import { glbFor } from './gated-generator'

export interface SeededEntry {
  key: string
  pictureName: string
}

/**
 * A data folder whose disk tier already holds `count` models, as a host writes them (records,
 * content-addressed model files, thumbnails): a library of thousands in a second, where
 * generating them would take an hour. Every 20th is an 'armchair', the rest 'lamp' or
 * 'robot'; all share one small GLB file (identical models share one file in the real layout).
 */
export async function seedLibrary(dataDir: string, count: number): Promise<SeededEntry[]> {
  const models = join(dataDir, 'models')
  mkdirSync(join(models, 'records'), { recursive: true })
  mkdirSync(join(models, 'thumbnails'), { recursive: true })
  writeFileSync(join(models, 'FORMAT'), String(DISK_FORMAT))
  const glb = await glbFor(1)
  const file = sha256(glb)
  writeFileSync(join(models, `${file}.glb`), glb)
  const thumbnail = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#88a' } })
    .webp()
    .toBuffer()
  const seeded: SeededEntry[] = []
  const start = Date.UTC(2026, 0, 1)
  for (let i = 0; i < count; i++) {
    const kind = i % 20 === 0 ? 'armchair' : i % 2 === 0 ? 'lamp' : 'robot'
    const pictureName = `${kind}-${String(i).padStart(4, '0')}.png`
    const key = sha256(new TextEncoder().encode(`seeded ${i}`))
    const record: DiskRecord = {
      key,
      file,
      bytes: glb.byteLength,
      createdAt: start + i * 60_000,
      lastAccessAt: start + i * 60_000,
      hits: i % 7,
      generationMs: 15_000 + (i % 13) * 1000,
      meta: {
        prompt: '',
        quality: i % 3 === 0 ? 'high' : 'draft',
        seed: i,
        texture: i % 5 === 0,
        model: 'tencent/Hunyuan3D-2',
        pictureName,
        thumbnail: true,
      },
    }
    writeFileSync(join(models, 'records', `${key}.json`), JSON.stringify(record))
    writeFileSync(join(models, 'thumbnails', `${key}.webp`), thumbnail)
    seeded.push({ key, pictureName })
  }
  return seeded
}
