import { useEffect, useRef } from 'react'

/**
 * A picked picture, drawn from its bytes with createImageBitmap (decoded off the main thread)
 * onto a canvas: no blob: or data: URL, so the page's CSP stays 'self' only.
 */
export function PictureView({
  bytes,
  label,
  className,
  size,
}: {
  bytes: Uint8Array
  label: string
  className?: string
  /** Square side in CSS pixels; the picture is fitted inside it. */
  size: number
}): React.JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    let current = true
    const scale = window.devicePixelRatio || 1
    void createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]))
      .then((bitmap) => {
        const target = canvas.current
        const context = target?.getContext('2d')
        if (!current || !target || !context) return bitmap.close()
        const side = Math.round(size * scale)
        target.width = side
        target.height = side
        const fit = Math.min(side / bitmap.width, side / bitmap.height)
        const [w, h] = [bitmap.width * fit, bitmap.height * fit]
        context.clearRect(0, 0, side, side)
        context.drawImage(bitmap, (side - w) / 2, (side - h) / 2, w, h)
        bitmap.close()
      })
      .catch(() => undefined) // an undecodable file is reported by the picker's own check
    return () => {
      current = false
    }
  }, [bytes, size])
  return (
    <canvas ref={canvas} role="img" aria-label={label} className={className} style={{ width: size, height: size }} />
  )
}
