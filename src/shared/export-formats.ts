/** The formats a cached model can be saved as (written by the core's export module). */
export const EXPORT_FORMATS = ['glb', 'obj', 'stl', 'ply', 'usdz'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** Names for the save dialog's filters and the app's format menu. */
export const FORMAT_LABELS: Record<ExportFormat, string> = {
  glb: 'glTF binary (GLB)',
  obj: 'Wavefront OBJ (with MTL and texture)',
  stl: 'STL (binary)',
  ply: 'PLY (binary)',
  usdz: 'USDZ (Apple AR Quick Look)',
}

/** A base name an export's files may carry: letters, digits, dot, dash, underscore. */
export const EXPORT_BASE_PATTERN = /^[\w.-]{1,80}$/

/** A saved model's name as a base an export may carry (the browser host names its files by it). */
export function exportBaseName(name: string): string {
  const base = name
    .replace(/\.(glb|obj|stl|ply|usdz)$/i, '')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^[.-]+|-+$/g, '')
    .slice(0, 80)
  return base || 'model'
}
