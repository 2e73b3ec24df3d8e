/** A file name the user's system will accept: no separators, no control characters, ending in .glb. */
export function safeFileName(name: string): string {
  const base = name
    .replace(/[/\\:*?"<>|\p{Cc}]/gu, '_')
    .replace(/^\.+/, '')
    .slice(0, 120)
  const stem = base.length > 0 ? base : 'model'
  return stem.toLowerCase().endsWith('.glb') ? stem : `${stem}.glb`
}
