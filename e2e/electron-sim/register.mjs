// Loaded with `node --import` before the built Electron main: makes `import ... from
// 'electron'` resolve to the stand-in (electron.mjs) instead of the npm package, which in
// plain Node only exports the path of a binary that could not be downloaded here.
import { register } from 'node:module'

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      const standIn = ${JSON.stringify(new URL('./electron.mjs', import.meta.url).href)}
      export async function resolve(specifier, context, next) {
        if (specifier === 'electron') return { url: standIn, shortCircuit: true }
        return next(specifier, context)
      }
    `),
)
