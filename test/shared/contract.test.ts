import { describe, expect, it } from 'vitest'
import { modelFileName, shortKey } from '../../src/shared/contract'

describe('model names for display and saving', () => {
  const key = 'ab12cd34ef'.padEnd(64, '0')

  it('names a saved model by its prompt and the start of its key', () => {
    expect(modelFileName('  a red / teapot! ', key)).toBe('a-red-teapot-ab12cd34.glb')
    expect(modelFileName('', key)).toBe('model-ab12cd34.glb')
    expect(modelFileName('x'.repeat(100), key)).toBe(`${'x'.repeat(40)}-ab12cd34.glb`)
  })

  it('shows the first 12 hex characters of a key', () => {
    expect(shortKey(key)).toBe('ab12cd34ef00')
  })
})
