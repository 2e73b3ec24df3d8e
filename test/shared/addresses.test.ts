import { describe, expect, it } from 'vitest'
import { appAddresses, modelFileName, parseResourcePath, shortKey } from '../../src/shared/addresses'

describe('addresses', () => {
  const key = 'ab12cd34ef'.padEnd(64, '0')

  it('names a saved model by its prompt and the start of its key', () => {
    expect(modelFileName('  a red / teapot! ', key)).toBe('a-red-teapot-ab12cd34.glb')
    expect(modelFileName('', key)).toBe('model-ab12cd34.glb')
    expect(modelFileName('x'.repeat(100), key)).toBe(`${'x'.repeat(40)}-ab12cd34.glb`)
  })

  it('shows the first 12 hex characters of a key', () => {
    expect(shortKey(key)).toBe('ab12cd34ef00')
  })

  it('addresses models and thumbnails relative to the page, one grammar for both hosts', () => {
    expect(appAddresses('model', key)).toBe(`/models/${key}.glb`)
    expect(appAddresses('thumbnail', key)).toBe(`/thumbnails/${key}.webp`)
    expect(parseResourcePath(`/models/${key}.glb`)).toEqual({ kind: 'model', key })
    expect(parseResourcePath(`/thumbnails/${key}.webp`)).toEqual({ kind: 'thumbnail', key })
    for (const path of [
      `/models/${key}.webp`,
      `/thumbnails/${key}.glb`,
      `/models/${key.toUpperCase()}.glb`,
      '/models/../x.glb',
      `/models/${key}`,
    ]) {
      expect(parseResourcePath(path), path).toBeUndefined()
    }
  })
})
