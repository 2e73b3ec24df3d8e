import { useId } from 'react'
import { formatBytes, formatMs } from '../format'
import { useStore } from '../store'
import { PictureView } from './PictureView'

/** Hamming distance between two 64-bit picture hashes, in words. */
export function describeDistance(distance: number): string {
  if (distance === 0) return 'looks identical'
  if (distance <= 2) return 'looks the same'
  if (distance <= 5) return 'looks nearly the same'
  return 'looks similar'
}

/**
 * Offers the model of a near-identical picture (same prompt, quality, seed and generator)
 * before generating: both pictures side by side, and the choice stays the user's.
 */
export function SimilarOfferView(): React.JSX.Element | null {
  const offer = useStore((s) => s.offer)
  const busy = useStore((s) => s.job !== undefined)
  const generate = useStore((s) => s.generate)
  const headingId = useId()
  const match = offer?.matches[0]
  if (!offer || !match) return null
  return (
    <section className="similar-offer" aria-labelledby={headingId} aria-live="polite" data-testid="similar-offer">
      <h3 id={headingId}>A model of a near-identical picture is already cached</h3>
      <div className="similar-pictures">
        <figure>
          <PictureView bytes={offer.image.bytes} label={`Yours: ${offer.image.name}`} size={64} />
          <figcaption>Your picture</figcaption>
        </figure>
        <figure>
          <img
            src={match.thumbnailUrl}
            alt={`Already cached${match.prompt ? `: ${match.prompt}` : ''}`}
            width={64}
            height={64}
          />
          <figcaption>
            Cached · <span data-testid="similar-distance">{describeDistance(match.distance)}</span>
          </figcaption>
        </figure>
      </div>
      <p className="muted small">
        Differs in {match.distance} of 64 picture features · {formatBytes(match.bytes)} · took{' '}
        {formatMs(match.generationMs)} to generate
      </p>
      <div className="inline">
        <button type="button" className="primary" disabled={busy} onClick={() => void generate('similar')}>
          Use this model
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={() => void generate('exact')}>
          Generate anyway
        </button>
      </div>
    </section>
  )
}
