import { type DragEvent, useId, useState } from 'react'
import { ACCEPTED_IMAGE_TYPES } from '../../../shared/limits'
import { useStore } from '../store'
import { PictureView } from './PictureView'

/** Pick or drop pictures (one job each); shows the first one's thumbnail, how many more, and any problem right here. */
export function ImagePicker(): React.JSX.Element {
  const image = useStore((s) => s.image)
  const more = useStore((s) => s.moreImages.length)
  const error = useStore((s) => s.imageError)
  const pickFiles = useStore((s) => s.pickFiles)
  const [dragging, setDragging] = useState(false)
  const inputId = useId()
  const errorId = useId()

  const onDrop = (event: DragEvent<HTMLLabelElement>): void => {
    event.preventDefault()
    setDragging(false)
    // The window's own drop handler would take these too.
    event.stopPropagation()
    void pickFiles([...event.dataTransfer.files])
  }

  return (
    <div className="field">
      <span className="field-label">Image</span>
      <label
        htmlFor={inputId}
        className={`dropzone${dragging ? ' dragging' : ''}${error ? ' invalid' : ''}`}
        onDragOver={(e) => {
          e.preventDefault()
          setDragging(true)
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        {image ? (
          <PictureView bytes={image.bytes} label={`Selected: ${image.name}`} className="thumbnail" size={64} />
        ) : (
          <span className="dropzone-hint">Drop pictures here, or click to choose</span>
        )}
        <span className="dropzone-name" data-testid="picked">
          {image
            ? `${image.name}${more > 0 ? ` and ${more} more (one job each)` : ''}`
            : 'PNG, JPEG or WebP, up to 25 MB, one or many'}
        </span>
      </label>
      <input
        id={inputId}
        data-testid="image-input"
        className="visually-hidden-input"
        type="file"
        multiple
        accept={ACCEPTED_IMAGE_TYPES.join(',')}
        aria-describedby={error ? errorId : undefined}
        aria-invalid={error ? true : undefined}
        onChange={(e) => {
          void pickFiles([...(e.target.files ?? [])])
          e.target.value = ''
        }}
      />
      {error && (
        <p id={errorId} className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  )
}
