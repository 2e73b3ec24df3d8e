import type { Quality } from '../../../shared/contract'
import type { ErrorPayload } from '../../../shared/errors'
import type { GenerateProgress } from '../generator'

/** What the builtin generator's worker thread receives: one job at a time. */
export interface WorkerJob {
  id: number
  image: Uint8Array
  quality: Quality
}

/** What the worker posts back, naming the job it is about. */
export type WorkerMessage = { id: number } & (
  | ({ type: 'progress' } & GenerateProgress)
  | { type: 'done'; glb: Uint8Array; vertices: number; triangles: number }
  | ({ type: 'error' } & ErrorPayload)
)
