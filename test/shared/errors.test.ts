import { describe, expect, it } from 'vitest'
import { AppError, isErrorPayload, toErrorPayload } from '../../src/shared/errors'

describe('error payloads', () => {
  it('serializes app errors as code and message', () => {
    expect(toErrorPayload(new AppError('NO_OBJECT', 'No object.'))).toEqual({
      code: 'NO_OBJECT',
      message: 'No object.',
    })
    expect(JSON.parse(JSON.stringify(new AppError('TIMEOUT', 'Too slow.')))).toEqual({
      code: 'TIMEOUT',
      message: 'Too slow.',
    })
  })

  it('maps aborts to CANCELLED and hides the internals of unknown errors', () => {
    expect(toErrorPayload(new DOMException('stop', 'AbortError'))).toEqual({
      code: 'CANCELLED',
      message: 'Generation was cancelled.',
    })
    const hidden = toErrorPayload(new Error('ENOENT /home/secret/path'))
    expect(hidden.code).toBe('INTERNAL')
    expect(hidden.message).not.toContain('secret')
    expect(toErrorPayload('a string')).toMatchObject({ code: 'INTERNAL' })
  })

  it('recognizes payloads that crossed a transport', () => {
    const payload = { code: 'RATE_LIMITED', message: 'Slow down.' }
    expect(isErrorPayload(payload)).toBe(true)
    expect(toErrorPayload(payload)).toEqual(payload)
    expect(isErrorPayload({ code: 'MADE_UP', message: 'x' })).toBe(false)
    expect(isErrorPayload({ code: 'TIMEOUT' })).toBe(false)
    expect(isErrorPayload(null)).toBe(false)
  })
})

describe('errors through the preload bridge', () => {
  it('round-trips code and message through an Error message', async () => {
    const { encodeErrorMessage } = await import('../../src/shared/errors')
    const payload = { code: 'NO_OBJECT' as const, message: 'No object was found.\nTry another picture.' }
    expect(toErrorPayload(new Error(encodeErrorMessage(payload)))).toEqual(payload)
    expect(toErrorPayload(new Error('[NOT_A_CODE] hi')).code).toBe('INTERNAL')
  })
})
