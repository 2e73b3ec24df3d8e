import * as nodeFs from 'node:fs/promises'
import { z } from 'zod'
import { type StorageFs, writeFileAtomically } from '../core/storage/atomic-write'

export interface Bounds {
  x: number
  y: number
  width: number
  height: number
}

export interface WindowState {
  bounds: Bounds
  maximized: boolean
}

/** The window's first size, and the least it may be. */
export const DEFAULT_SIZE = { width: 1280, height: 800 }
export const MIN_SIZE = { width: 960, height: 640 }

const stateSchema = z.object({
  bounds: z.object({ x: z.number().int(), y: z.number().int(), width: z.number().int(), height: z.number().int() }),
  maximized: z.boolean(),
})

/** The saved state, or undefined when there is none or it cannot be read (a first start, a damaged file). */
export async function loadWindowState(file: string): Promise<WindowState | undefined> {
  try {
    const parsed = stateSchema.safeParse(JSON.parse(await nodeFs.readFile(file, 'utf8')))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

export async function saveWindowState(file: string, state: WindowState, fs: StorageFs = nodeFs): Promise<void> {
  await writeFileAtomically(fs, file, `${JSON.stringify(state)}\n`)
}

function overlap(a: Bounds, b: Bounds): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)
  return w > 0 && h > 0 ? w * h : 0
}

/**
 * Where the window opens: the saved bounds, moved and shrunk onto the display they overlap
 * most (a display that was unplugged, or a resolution that shrank, never leaves the window
 * off screen); centred on the first display when nothing was saved.
 */
export function placeWindow(saved: Bounds | undefined, workAreas: Bounds[]): Bounds {
  const primary = workAreas[0] ?? { x: 0, y: 0, ...DEFAULT_SIZE }
  if (!saved) {
    const width = Math.min(DEFAULT_SIZE.width, primary.width)
    const height = Math.min(DEFAULT_SIZE.height, primary.height)
    return {
      x: primary.x + Math.round((primary.width - width) / 2),
      y: primary.y + Math.round((primary.height - height) / 2),
      width,
      height,
    }
  }
  const area = workAreas.reduce((best, each) => (overlap(saved, each) > overlap(saved, best) ? each : best), primary)
  const width = Math.min(Math.max(saved.width, MIN_SIZE.width), area.width)
  const height = Math.min(Math.max(saved.height, MIN_SIZE.height), area.height)
  return {
    x: Math.min(Math.max(saved.x, area.x), area.x + area.width - width),
    y: Math.min(Math.max(saved.y, area.y), area.y + area.height - height),
    width,
    height,
  }
}
