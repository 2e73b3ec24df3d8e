import { type ExportedFile, exportModel, formatOfExtension } from '../core/export/model-export'
import { EXPORT_BASE_PATTERN } from '../shared/export-formats'

/** `<key>.<ext>` for every file an export writes besides the GLB itself. */
const EXPORT_FILE = /^([0-9a-f]{64})\.(obj|mtl|png|jpg|stl|ply|usdz)$/

/**
 * The browser host's exports: `/models/<key>.<ext>` is the model in that format, and an OBJ's
 * MTL and texture sit beside it (`<key>.mtl`, `<key>.png`), so the OBJ's own references
 * resolve to them. `?name=` names the files inside (an OBJ downloaded as robot.obj refers to
 * robot.mtl). Undefined when the path is not an export or the model is not held.
 */
export async function exportedFile(
  file: string,
  name: unknown,
  model: (key: string) => Promise<Uint8Array | undefined>,
): Promise<ExportedFile | undefined> {
  const match = EXPORT_FILE.exec(file)
  const format = match && formatOfExtension(match[2] as string)
  if (!match || !format) return undefined
  const key = match[1] as string
  const base = typeof name === 'string' && EXPORT_BASE_PATTERN.test(name) ? name : key
  const glb = await model(key)
  if (!glb) return undefined
  const files = await exportModel(glb, format, base)
  return files.find((each) => each.name === `${base}.${match[2]}`)
}
