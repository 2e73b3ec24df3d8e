/**
 * Worker-thread entry of the builtin generator: runs one reconstruction off the main thread
 * and posts progress, then the GLB (transferred, not copied) or an error.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { toErrorPayload } from '../../../shared/errors'
import { reconstruct } from './reconstruct'
import type { WorkerJob, WorkerMessage } from './worker-protocol'

const port = parentPort
if (!port) throw new Error('the builtin generator worker must run in a worker thread')
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer)
const job = workerData as WorkerJob

reconstruct(job.image, job.quality, { onProgress: (p) => post({ type: 'progress', ...p }) }).then(
  (model) => {
    const glb = model.glb
    post(
      { type: 'done', glb, vertices: model.vertices ?? 0, triangles: model.triangles ?? 0 },
      glb.byteOffset === 0 && glb.byteLength === glb.buffer.byteLength ? [glb.buffer as ArrayBuffer] : [],
    )
  },
  (error: unknown) => post({ type: 'error', ...toErrorPayload(error) }),
)
