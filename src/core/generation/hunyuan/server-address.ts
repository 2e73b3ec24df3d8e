import { lookup } from 'node:dns/promises'
import { isIPv4 } from 'node:net'

/**
 * Which machine and port a server URL reaches, so one GPU server under several spellings
 * (`LOCALHOST`, `127.1`, `[::ffff:127.0.0.1]`, `HTTP://`, a trailing `/.`) is one server and
 * never runs two jobs at once. The URL itself is normalised by the WHATWG parser (scheme and
 * host case, default port, dots, IPv4 shorthands); the host is then resolved, an IPv4-mapped
 * IPv6 address read as IPv4, and every loopback address taken as the one loopback.
 */
/** How long a name may take to resolve before it is compared as written. */
const LOOKUP_MS = 2_000

export async function serverAddressKey(text: string): Promise<string> {
  const url = new URL(text)
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const host = url.hostname.replace(/^\[|\]$/g, '')
  // A name that does not resolve in time is compared as written.
  let timer: ReturnType<typeof setTimeout> | undefined
  const address = await Promise.race([
    lookup(host).then(
      (found) => found.address,
      () => host,
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(host), LOOKUP_MS)
    }),
  ])
  clearTimeout(timer)
  return `${url.protocol}//${canonicalAddress(address)}:${port}${url.pathname.replace(/\/+$/, '')}`
}

function canonicalAddress(address: string): string {
  const mapped = /^::ffff:(.+)$/i.exec(address)?.[1]
  const v4 = mapped ? (isIPv4(mapped) ? mapped : hexToIPv4(mapped)) : address
  if (v4 === '::1' || v4.startsWith('127.')) return '127.0.0.1'
  return v4.toLowerCase()
}

/** `7f00:1` (an IPv4-mapped address as the URL parser writes it) as `127.0.0.1`. */
function hexToIPv4(hex: string): string {
  const [high = '0', low = '0'] = hex.split(':')
  const value = (Number.parseInt(high, 16) << 16) + Number.parseInt(low, 16)
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.')
}
