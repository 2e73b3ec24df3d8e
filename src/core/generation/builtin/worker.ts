/**
 * Worker-thread entry of the builtin generator: runs reconstructions off the main thread
 * (the picture arrives decoded at its working sizes, see readPicture),
 * one job per message, and posts progress, then the GLB (transferred, not copied) or an error.
 * The worker stays alive between jobs, so sharp and glTF-Transform load once.
 */
import { parentPort } from 'node:worker_threads'
import { toErrorPayload } from '../../../shared/errors'
import { reconstructFrom } from './reconstruct'
import type { WorkerJob, WorkerMessage } from './worker-protocol'

const port = parentPort
if (!port) throw new Error('the builtin generator worker must run in a worker thread')
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer)

port.on('message', (job: WorkerJob) => {
  reconstructFrom(job.picture, job.quality, { onProgress: (p) => post({ id: job.id, type: 'progress', ...p }) }).then(
    (model) => {
      const glb = model.glb
      const whole = glb.byteOffset === 0 && glb.byteLength === glb.buffer.byteLength
      post(
        { id: job.id, type: 'done', glb, vertices: model.vertices ?? 0, triangles: model.triangles ?? 0 },
        whole ? [glb.buffer as ArrayBuffer] : [],
      )
    },
    (error: unknown) => post({ id: job.id, type: 'error', ...toErrorPayload(error) }),
  )
})
