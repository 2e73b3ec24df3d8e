// The environment MeshCache's own launchers (`npm start`, `npm run serve`) give the process
// they start. glibc reads its allocator settings only when a process starts, so they are set
// here, before, and never by the app itself.
//
// MALLOC_MMAP_THRESHOLD_ fixes the size from which glibc maps memory of its own (and gives it
// back when freed) at its default of 128 KiB. Left alone, glibc raises that size up to 32 MiB
// after the first large buffer is freed, and from then on keeps pictures, upload chunks and
// models in its heaps, where freed memory stays with the process. Measured with
// `npm run bench -- memory` (docs/benchmarks.md, "Memory under large pictures"): twenty
// 4096×4096 jobs queued one after another peaked 402 MB without it and 320 MB with it.
// A setting the user gives in the environment wins.

/** The settings, by name. */
export const ALLOCATOR_SETTINGS = { MALLOC_MMAP_THRESHOLD_: '131072' }

/** `env` with the allocator settings it does not set itself. */
export function processEnvironment(env = process.env) {
  return { ...ALLOCATOR_SETTINGS, ...env }
}
