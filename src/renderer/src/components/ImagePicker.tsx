import { type DragEvent, useId, useState } from 'react'
import { ACCEPTED_IMAGE_TYPES } from '../../../shared/limits'
import { useStore } from '../store'
import { PictureView } from './PictureView'

/** Pick or drop one picture; shows its thumbnail and any problem with it right here. */
export function ImagePicker(): React.JSX.Element {
  const image = useStore((s) => s.image)
  const error = useStore((s) => s.imageError)
  const pickFile = useStore((s) => s.pickFile)
  const [dragging, setDragging] = useState(false)
  const inputId = useId()
  const errorId = useId()

  const onDrop = (event: DragEvent<HTMLLabelElement>): void => {
    event.preventDefault()
    setDragging(false)
    void pickFile(event.dataTransfer.files[0])
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
          <span className="dropzone-hint">Drop a picture here, or click to choose one</span>
        )}
        <span className="dropzone-name">{image ? image.name : 'PNG, JPEG or WebP, up to 25 MB'}</span>
      </label>
      <input
        id={inputId}
        data-testid="image-input"
        className="visually-hidden-input"
        type="file"
        accept={ACCEPTED_IMAGE_TYPES.join(',')}
        aria-describedby={error ? errorId : undefined}
        aria-invalid={error ? true : undefined}
        onChange={(e) => {
          void pickFile(e.target.files?.[0])
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
