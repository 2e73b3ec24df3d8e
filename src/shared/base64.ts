/**
 * Base64 for binary fields in JSON, in Node (Buffer: native and fast) and in the browser
 * (btoa/atob), so the shared schemas and the HTTP adapter use one encoding everywhere.
 */
interface NodeBufferClass {
  from(text: string, encoding: 'base64'): Uint8Array
  from(bytes: Uint8Array): Uint8Array & { toString(encoding: 'base64'): string }
}
const NodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer

export function decodeBase64(text: string): Uint8Array {
  if (NodeBuffer) return NodeBuffer.from(text, 'base64')
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** The browser's own encoder where it has one (Chromium 140+): native, no string of bytes in between. */
type WithToBase64 = Uint8Array & { toBase64?: () => string }

export function encodeBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes).toString('base64')
  const native = (bytes as WithToBase64).toBase64
  if (typeof native === 'function') return native.call(bytes)
  let binary = ''
  // In slices: one String.fromCharCode call per byte would overflow the call stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}
