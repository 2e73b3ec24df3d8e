import * as nodeFs from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'
import { exportModel } from '../core/export/model-export'
import { type StorageFs, writeFileAtomically } from '../core/storage/atomic-write'
import { AppError } from '../shared/errors'
import { EXPORT_FORMATS, type ExportFormat, FORMAT_LABELS } from '../shared/export-formats'
import type { OperationHandlers } from '../shared/operations'
import { safeFileName } from './safe-file-name'

/** The part of Electron's dialog.showSaveDialog this uses (the window is bound by the caller). */
export type ShowSaveDialog = (options: {
  title: string
  defaultPath: string
  filters: { name: string; extensions: string[] }[]
}) => Promise<{ canceled: boolean; filePath?: string }>

/** Why a save failed, in the user's words (the chosen file is left as it was). */
function explainSaveFailure(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const reason =
    code === 'ENOSPC'
      ? 'the disk is full'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'MeshCache may not write there'
        : `${code ?? (error instanceof Error ? error.message : 'unknown error')}`
  return `The model could not be saved to ${path}: ${reason}. Any file already there was left as it was.`
}

/**
 * The desktop's own operation: asks where to save (under a safe file name, the asked format's
 * filter first, every format offered), then writes the model there in the format the chosen
 * name ends in, with what it refers to beside it (an OBJ's MTL and texture, named after it).
 * Each write is atomic, so the chosen file only ever holds a complete model: a full disk or a
 * crash mid-save never leaves a cut-off file in place of a good one. `{ saved: false }` when
 * the user cancels.
 */
export function saveModelHandler(
  model: (key: string) => Promise<Uint8Array | undefined>,
  showSaveDialog: ShowSaveDialog,
  fs: StorageFs = nodeFs,
): OperationHandlers['saveModel'] {
  return async ({ key, name, format = 'glb' }) => {
    const bytes = await model(key)
    if (!bytes) throw new AppError('NOT_FOUND', 'That model is no longer in the cache.')
    const offered = [format, ...EXPORT_FORMATS.filter((other) => other !== format)]
    const choice = await showSaveDialog({
      title: 'Save model',
      defaultPath: safeFileName(name, format),
      filters: offered.map((each) => ({ name: FORMAT_LABELS[each], extensions: [each] })),
    })
    if (choice.canceled || !choice.filePath) return { saved: false }
    // The name's extension says the format; a name without a known one gets the asked format's.
    const typed = extname(choice.filePath).slice(1).toLowerCase()
    const known = (EXPORT_FORMATS as readonly string[]).includes(typed)
    const chosen = known ? (typed as ExportFormat) : format
    const path = known ? choice.filePath : `${choice.filePath}.${format}`
    const base = basename(path, extname(path))
    const files = await exportModel(bytes, chosen, base)
    try {
      for (const [index, file] of files.entries())
        await writeFileAtomically(fs, index === 0 ? path : join(dirname(path), file.name), file.bytes)
    } catch (error) {
      throw new AppError('INTERNAL', explainSaveFailure(error, path))
    }
    return { saved: true }
  }
}
