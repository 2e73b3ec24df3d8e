import { modelFileName } from '../../shared/addresses'
import type { Stage } from '../../shared/contract'
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`
}

export function formatMs(ms: number): string {
  if (ms === 0) return '0 s'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
}

export function formatAge(since: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - since) / 1000))
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86_400)} d ago`
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction > 0 && fraction < 0.1 ? 1 : 0)}%`
}

/** What a generation is doing, in words, for the form and the jobs list. */
export const STAGE_LABEL: Record<Stage, string> = {
  queued: 'Waiting in the queue',
  decoding: 'Reading the image',
  segmenting: 'Finding the object',
  inflating: 'Shaping the body',
  meshing: 'Building the mesh',
  encoding: 'Writing the model',
  uploading: 'Sending to the generator',
  generating: 'Generating',
  texturing: 'Painting the texture',
  done: 'Done',
}

/** An entry's title: its prompt, else its picture's file name ('' when it has neither). */
export function entryTitle(meta: Readonly<Record<string, unknown>>): string {
  return String(meta.prompt ?? '') || String(meta.pictureName ?? '')
}

/** The name a stored model is opened and saved under, from its title. */
export function entryFileName(meta: Readonly<Record<string, unknown>>, key: string): string {
  return modelFileName(entryTitle(meta).replace(/\.(png|jpe?g|webp)$/i, ''), key)
}
