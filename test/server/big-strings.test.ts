import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseSettingBigStringsAside } from '../../src/server/big-strings'

/** A text cut into chunks of `size` bytes, as a body arrives. */
function chunked(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text)
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size))
  return chunks
}

describe('parseSettingBigStringsAside', () => {
  it('gives the same value as JSON.parse, however the body is cut', () => {
    const body = fc.dictionary(
      fc.string({ maxLength: 6 }),
      fc.oneof(
        fc.string({ minLength: 20, maxLength: 60 }),
        fc.stringMatching(/^[A-Za-z0-9+/]{20,80}={0,2}$/),
        fc.integer(),
        fc.array(fc.string({ minLength: 20, maxLength: 40 }), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ minLength: 20, maxLength: 30 }), { maxKeys: 2 }),
      ),
    )
    fc.assert(
      fc.property(body, fc.integer({ min: 1, max: 50 }), (value, size) => {
        const text = JSON.stringify(value)
        const parsed = parseSettingBigStringsAside(chunked(text, size), 20)
        // Undefined only when nothing was long enough to set aside.
        if (parsed === undefined) return
        expect(JSON.parse(JSON.stringify(parsed))).toEqual(JSON.parse(text))
      }),
    )
  })

  it('never reads a long string until it is asked for, and a marker cannot be forged', () => {
    const image = 'A'.repeat(1000)
    const text = JSON.stringify({ image, text: '\u0000meshcache-aside-0000000000000000-0', mesh: 'B'.repeat(1000) })
    const parsed = parseSettingBigStringsAside(chunked(text, 64), 100) as Record<string, unknown>
    expect(Object.getOwnPropertyDescriptor(parsed, 'mesh')?.get).toBeTypeOf('function')
    expect(parsed.text).toBe('\u0000meshcache-aside-0000000000000000-0')
    expect(parsed.image).toBe(image)
    expect(Object.getOwnPropertyDescriptor(parsed, 'image')?.value).toBe(image)
  })

  it('leaves lenient bodies and escaped strings to the whole-text parser', () => {
    const long = 'x'.repeat(200)
    // A trailing comma is not strict JSON: the caller's lenient parser takes it.
    expect(parseSettingBigStringsAside(chunked(`{"image":"${long}",}`, 16), 100)).toBeUndefined()
    // A quote inside a single-quoted JSON5 string is not the start of a string to set aside.
    expect(parseSettingBigStringsAside(chunked(`{'a':'"${long}"'}`, 16), 100)).toBeUndefined()
    // An escaped literal is parsed as text (its bytes are not its value).
    const escaped = JSON.stringify({ image: `${long}\\/${long}`, mesh: long })
    expect(parseSettingBigStringsAside(chunked(escaped, 7), 100)).toEqual(JSON.parse(escaped))
  })
})
