import type { Quality } from '../../../shared/contract'
import type { ErrorPayload } from '../../../shared/errors'
import type { GenerateProgress } from '../generator'
import type { PictureAtWorkingSize } from './reconstruct'

/** What the builtin generator's worker thread receives: one job at a time, its picture already decoded small. */
export interface WorkerJob {
  id: number
  picture: PictureAtWorkingSize
  quality: Quality
}

/** What the worker posts back, naming the job it is about. */
export type WorkerMessage = { id: number } & (
  | ({ type: 'progress' } & GenerateProgress)
  | { type: 'done'; glb: Uint8Array; vertices: number; triangles: number }
  | ({ type: 'error' } & ErrorPayload)
)
