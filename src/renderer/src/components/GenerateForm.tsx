import { type FormEvent, useId } from 'react'
import { QUALITIES, type Quality } from '../../../shared/contract'
import { MAX_PROMPT_CHARS } from '../../../shared/limits'
import { formatMs } from '../format'
import { useStore } from '../store'
import { ImagePicker } from './ImagePicker'

const STAGE_LABEL: Record<string, string> = {
  queued: 'Waiting in the queue',
  decoding: 'Reading the image',
  segmenting: 'Finding the object',
  inflating: 'Shaping the body',
  meshing: 'Building the mesh',
  encoding: 'Writing the model',
  uploading: 'Sending to the generator',
  generating: 'Generating',
  done: 'Done',
}

function ProgressView(): React.JSX.Element | null {
  const job = useStore((s) => s.job)
  const cancel = useStore((s) => s.cancel)
  if (!job) return null
  const progress = job.progress
  const stage = progress ? (STAGE_LABEL[progress.stage] ?? progress.stage) : 'Starting'
  const position = progress?.stage === 'queued' && progress.position ? ` (${progress.position} ahead)` : ''
  const percent = Math.round((progress?.fraction ?? 0) * 100)
  return (
    <div className="progress" aria-live="polite">
      <div className="progress-row">
        <span data-testid="stage">
          {stage}
          {position}
        </span>
        <span>{percent}%</span>
      </div>
      <progress max={100} value={percent} aria-label="Generation progress" />
      <button type="button" className="secondary" onClick={() => void cancel()}>
        Cancel
      </button>
    </div>
  )
}

function ResultView(): React.JSX.Element | null {
  const result = useStore((s) => s.result)
  const error = useStore((s) => s.generateError)
  const job = useStore((s) => s.job)
  if (job) return null
  if (error) {
    return (
      <p className="error" role="alert" data-testid="generate-error">
        {error.code === 'CANCELLED' ? 'Generation cancelled.' : error.message}
      </p>
    )
  }
  if (!result) return null
  const label = {
    hit: result.tier === 'disk' ? 'Cache hit (from disk)' : 'Cache hit',
    miss: 'Generated',
    coalesced: 'Joined a running generation',
  }[result.cache]
  return (
    <div className={`result result-${result.cache}`} data-testid="result" data-cache={result.cache}>
      <strong>{label}</strong>
      <span data-testid="served-ms">in {formatMs(result.servedMs)}</span>
      {result.cache === 'miss' ? (
        <span>generation took {formatMs(result.generationMs)}</span>
      ) : (
        <span>saved {formatMs(Math.max(0, result.generationMs - result.servedMs))} of generation</span>
      )}
    </div>
  )
}

export function GenerateForm(): React.JSX.Element {
  const { prompt, quality, seedText, seedError, job } = useStore()
  const { setPrompt, setQuality, setSeed, randomSeed, generate } = useStore()
  const promptId = useId()
  const qualityId = useId()
  const seedId = useId()
  const seedErrorId = useId()

  const onSubmit = (event: FormEvent): void => {
    event.preventDefault()
    void generate()
  }

  return (
    <form className="card generate-form" onSubmit={onSubmit} aria-label="Generate a 3D model">
      <h2>New model</h2>
      <ImagePicker />
      <div className="field">
        <label htmlFor={promptId} className="field-label">
          Prompt <span className="muted">(optional)</span>
        </label>
        <textarea
          id={promptId}
          value={prompt}
          rows={1}
          maxLength={MAX_PROMPT_CHARS}
          placeholder="What is in the picture, e.g. a red teapot"
          onChange={(e) => setPrompt(e.target.value)}
        />
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor={qualityId} className="field-label">
            Quality
          </label>
          <select id={qualityId} value={quality} onChange={(e) => setQuality(e.target.value as Quality)}>
            {QUALITIES.map((q) => (
              <option key={q} value={q}>
                {q[0]?.toUpperCase()}
                {q.slice(1)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={seedId} className="field-label">
            Seed
          </label>
          <div className="inline">
            <input
              id={seedId}
              type="text"
              inputMode="numeric"
              value={seedText}
              aria-invalid={seedError ? true : undefined}
              aria-describedby={seedError ? seedErrorId : undefined}
              onChange={(e) => setSeed(e.target.value)}
            />
            <button type="button" className="secondary" onClick={randomSeed}>
              Random
            </button>
          </div>
          {seedError && (
            <p id={seedErrorId} className="error" role="alert">
              {seedError}
            </p>
          )}
        </div>
      </div>
      <button type="submit" className="primary" disabled={Boolean(job)}>
        {job ? 'Generating…' : 'Generate'}
      </button>
      <ProgressView />
      <ResultView />
    </form>
  )
}
