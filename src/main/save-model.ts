import * as nodeFs from 'node:fs/promises'
import { type StorageFs, writeFileAtomically } from '../core/storage/atomic-write'
import { AppError } from '../shared/errors'
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
 * The desktop's own operation: asks where to save (under a safe file name), then writes the
 * model's bytes from the tiers there. The write is atomic, so the chosen file only ever holds
 * a complete model: a full disk or a crash mid-save never leaves a cut-off GLB in place of a
 * good one. `{ saved: false }` when the user cancels.
 */
export function saveModelHandler(
  model: (key: string) => Promise<Uint8Array | undefined>,
  showSaveDialog: ShowSaveDialog,
  fs: StorageFs = nodeFs,
): OperationHandlers['saveModel'] {
  return async ({ key, name }) => {
    const bytes = await model(key)
    if (!bytes) throw new AppError('NOT_FOUND', 'That model is no longer in the cache.')
    const choice = await showSaveDialog({
      title: 'Save model',
      defaultPath: safeFileName(name),
      filters: [{ name: 'glTF binary', extensions: ['glb'] }],
    })
    if (choice.canceled || !choice.filePath) return { saved: false }
    try {
      await writeFileAtomically(fs, choice.filePath, bytes)
    } catch (error) {
      throw new AppError('INTERNAL', explainSaveFailure(error, choice.filePath))
    }
    return { saved: true }
  }
}
