// Test-only worker entry: registers tsx so the worker can run the TypeScript source directly.
// The app itself runs the bundled out/main/builtin-worker.js.
import { register } from 'tsx/esm/api'

register()
await import('../../src/core/generation/builtin/worker.ts')
