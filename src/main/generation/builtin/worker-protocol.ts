import type { Quality } from '../../../shared/contract'
import type { ErrorPayload } from '../../../shared/errors'
import type { GenerateProgress } from '../generator'

/** What the builtin generator's worker thread receives as workerData. */
export interface WorkerJob {
  image: Uint8Array
  quality: Quality
}

/** What the worker posts back. */
export type WorkerMessage =
  | ({ type: 'progress' } & GenerateProgress)
  | { type: 'done'; glb: Uint8Array; vertices: number; triangles: number }
  | ({ type: 'error' } & ErrorPayload)
