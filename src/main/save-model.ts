import { writeFile as nodeWriteFile } from 'node:fs/promises'
import { AppError } from '../shared/errors'
import type { OperationHandlers } from '../shared/operations'
import { safeFileName } from './safe-file-name'

/** The part of Electron's dialog.showSaveDialog this uses (the window is bound by the caller). */
export type ShowSaveDialog = (options: {
  title: string
  defaultPath: string
  filters: { name: string; extensions: string[] }[]
}) => Promise<{ canceled: boolean; filePath?: string }>

/**
 * The desktop's own operation: asks where to save (under a safe file name), then writes the
 * model's bytes from the tiers there. `{ saved: false }` when the user cancels.
 */
export function saveModelHandler(
  model: (key: string) => Promise<Uint8Array | undefined>,
  showSaveDialog: ShowSaveDialog,
  writeFile: (path: string, bytes: Uint8Array) => Promise<void> = nodeWriteFile,
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
    await writeFile(choice.filePath, bytes)
    return { saved: true }
  }
}
