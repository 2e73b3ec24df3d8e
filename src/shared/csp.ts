/**
 * The renderer's Content-Security-Policy, the same in both hosts: the page, its scripts, the
 * models and the thumbnails share one origin (meshcache://app in Electron, the browser host's
 * own), so everything is 'self' with no scheme exceptions. No blob: or data: either: picked
 * pictures and model textures are decoded with createImageBitmap, which needs no URL.
 * Written into index.html at build time (electron.vite.config.ts) and sent as a header.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

/** As a response header it also forbids framing the app (a <meta> policy cannot say that). */
export const CONTENT_SECURITY_POLICY_HEADER = `${CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`
