/** A file name the user's system will accept: no separators, no control characters, ending in `.<extension>`. */
export function safeFileName(name: string, extension = 'glb'): string {
  const base = name
    .replace(/[/\\:*?"<>|\p{Cc}]/gu, '_')
    .replace(/^\.+/, '')
    .replace(/\.glb$/i, '')
    .slice(0, 120)
  const stem = base.length > 0 ? base : 'model'
  return stem.toLowerCase().endsWith(`.${extension}`) ? stem : `${stem}.${extension}`
}
