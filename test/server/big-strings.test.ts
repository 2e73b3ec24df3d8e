import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
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
        const parsed = parseSettingBigStringsAside(chunked(text, size), { min: 20 })
        // Undefined only when nothing was long enough to set aside.
        if (parsed === undefined) return
        expect(JSON.parse(JSON.stringify(parsed))).toEqual(JSON.parse(text))
      }),
    )
  })

  it('never reads a long string until it is asked for, and a marker cannot be forged', () => {
    const image = 'A'.repeat(1000)
    const text = JSON.stringify({ image, text: '\u0000meshcache-aside-0000000000000000-0', mesh: 'B'.repeat(1000) })
    const parsed = parseSettingBigStringsAside(chunked(text, 64), { min: 100 }) as Record<string, unknown>
    expect(Object.getOwnPropertyDescriptor(parsed, 'mesh')?.get).toBeTypeOf('function')
    expect(parsed.text).toBe('\u0000meshcache-aside-0000000000000000-0')
    expect(parsed.image).toBe(image)
    expect(Object.getOwnPropertyDescriptor(parsed, 'image')?.value).toBe(image)
  })

  it('leaves lenient bodies and escaped strings to the whole-text parser', () => {
    const long = 'x'.repeat(200)
    // A trailing comma is not strict JSON: the caller's lenient parser takes it.
    expect(parseSettingBigStringsAside(chunked(`{"image":"${long}",}`, 16), { min: 100 })).toBeUndefined()
    // A quote inside a single-quoted JSON5 string is not the start of a string to set aside.
    expect(parseSettingBigStringsAside(chunked(`{'a':'"${long}"'}`, 16), { min: 100 })).toBeUndefined()
    // An escaped literal is parsed as text (its bytes are not its value).
    const escaped = JSON.stringify({ image: `${long}\\/${long}`, mesh: long })
    expect(parseSettingBigStringsAside(chunked(escaped, 7), { min: 100 })).toEqual(JSON.parse(escaped))
  })

  it('turns base64 values into their bytes, however the body is cut, and leaves every other value as text', () => {
    const base64 = fc
      .uint8Array({ minLength: 20, maxLength: 200 })
      .map((bytes) => Buffer.from(bytes).toString('base64'))
    const unpadded = base64.map((text) => text.replace(/=+$/, ''))
    const dataUrl = base64.map((text) => `data:image/png;base64,${text}`)
    const notBase64 = fc.oneof(
      fc.string({ minLength: 40, maxLength: 80 }).filter((text) => !/^[A-Za-z0-9+/]*={0,2}$/.test(text)),
      // Padding in the middle, a stray letter after it, or one letter too many: not strict base64.
      base64.map((text) => `${text}=A`),
      base64.map((text) => `${text.replace(/=+$/, '')}=====`),
      fc.constantFrom('A'.repeat(41), 'QUJD QUJD'.repeat(6)),
    )
    fc.assert(
      fc.property(
        fc.oneof(base64, unpadded, dataUrl),
        notBase64,
        fc.integer({ min: 1, max: 50 }),
        (image, text, size) => {
          const parsed = parseSettingBigStringsAside(chunked(JSON.stringify({ image, text, seed: 3 }), size), {
            min: 20,
            base64AsBytes: true,
          }) as Record<string, unknown>
          const expected = Buffer.from(image.replace(/^data:[^,]*;base64,/, ''), 'base64')
          expect(parsed.image).toBeInstanceOf(Uint8Array)
          expect(Buffer.from(parsed.image as Uint8Array).equals(expected)).toBe(true)
          expect(parsed.text).toBe(text)
          expect(parsed.seed).toBe(3)
        },
      ),
    )
  })

  it('parses the JSON around the set-aside values with the parser it is given', () => {
    const text = JSON.stringify({ image: 'A'.repeat(200), __proto__x: 1 }).replace('__proto__x', '__proto__')
    const refuse = (json: string): unknown => {
      if (json.includes('__proto__')) throw new Error('refused')
      return JSON.parse(json)
    }
    expect(parseSettingBigStringsAside(chunked(text, 16), { min: 100, parse: refuse })).toBeUndefined()
  })

  it('decodes a large base64 value without copying its text whole', () => {
    // 2 MB of base64 in 64 KB chunks, as a socket delivers a picture's upload.
    const bytes = Buffer.alloc(1536 * 1024, 7)
    const body = chunked(JSON.stringify({ image: bytes.toString('base64') }), 64 * 1024)
    const concat = vi.spyOn(Buffer, 'concat')
    try {
      const parsed = parseSettingBigStringsAside(body, { base64AsBytes: true }) as { image: Uint8Array }
      expect(Buffer.from(parsed.image).equals(bytes)).toBe(true)
      const largest = Math.max(...concat.mock.results.map((result) => (result.value as Buffer).length))
      // Only the JSON around the value, and a data: URL's possible prefix, are ever joined.
      expect(largest).toBeLessThan(1024)
    } finally {
      concat.mockRestore()
    }
  })

  it('says when every set-aside value has been read, once', () => {
    const long = 'A'.repeat(200)
    let calls = 0
    const parsed = parseSettingBigStringsAside(
      chunked(JSON.stringify({ image: long, list: [long], mesh: `${long}!` }), 16),
      {
        min: 100,
        base64AsBytes: true,
        onAllRead: () => calls++,
      },
    ) as Record<string, unknown>
    // The array's value is read as it is parsed; the fields when first asked for.
    expect(calls).toBe(0)
    expect(parsed.image).toBeInstanceOf(Uint8Array)
    expect(calls).toBe(0)
    expect(parsed.mesh).toBe(`${long}!`)
    expect(parsed.image).toBeInstanceOf(Uint8Array)
    expect(calls).toBe(1)
  })
})
