import { type FormEvent, useId } from 'react'
import { QUALITIES, type Quality, type ResultOutcome } from '../../../shared/contract'
import { MAX_PROMPT_CHARS } from '../../../shared/limits'
import { formatMs, STAGE_LABEL } from '../format'
import { formModel, gpuModels, MAX_VARIANTS, useStore } from '../store'
import { ImagePicker } from './ImagePicker'
import { SimilarOfferView } from './SimilarOffer'

const OUTCOME_LABEL: Record<ResultOutcome, string> = {
  hit: 'Cache hit',
  miss: 'Generated',
  coalesced: 'Joined a running generation',
  similar: 'Reused the model of a near-identical picture',
}

/** The progress of the job the form follows (the latest Generate of one request). */
function ProgressView(): React.JSX.Element | null {
  const job = useStore((s) => s.job)
  const waiting = useStore((s) => s.jobs.find((each) => each.id === s.job?.requestId && each.state === 'waiting'))
  const cancel = useStore((s) => s.cancel)
  if (!job) return null
  const progress = job.progress
  const stage = progress ? STAGE_LABEL[progress.stage] : waiting ? 'Waiting in the jobs queue' : 'Starting'
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
  const shownMs = useStore((s) => s.shownMs)
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
  const tier =
    result.cache === 'hit' && result.tier !== 'memory'
      ? ` (from ${result.tier === 'disk' ? 'disk' : 'the team tier'})`
      : ''
  return (
    <div className={`result result-${result.cache}`} data-testid="result" data-cache={result.cache}>
      <strong>
        {OUTCOME_LABEL[result.cache]}
        {tier}
      </strong>
      {shownMs !== undefined ? (
        <span data-testid="shown-ms" data-ms={Math.round(shownMs)} data-key={result.key}>
          on screen {formatMs(shownMs)} after the click (the app answered in {formatMs(result.servedMs)})
        </span>
      ) : (
        <span data-testid="served-ms">answered in {formatMs(result.servedMs)}</span>
      )}
      {result.cache === 'miss' ? (
        <span>generation took {formatMs(result.generationMs)}</span>
      ) : (
        <span>saved {formatMs(Math.max(0, result.generationMs - result.servedMs))} of generation</span>
      )}
      {result.shapeReused && (
        <span data-testid="shape-reused">the cached untextured shape was textured, not made again</span>
      )}
      {result.fallback && (
        <span className="warning" role="status" data-testid="fallback">
          {result.fallback}
        </span>
      )}
      {!result.stored && (
        <span className="warning" role="status" data-testid="not-kept">
          This model is larger than the cache limits allow, so it was not kept: save it now if you need it.
        </span>
      )}
    </div>
  )
}

export function GenerateForm(): React.JSX.Element {
  const prompt = useStore((s) => s.prompt)
  const quality = useStore((s) => s.quality)
  const seedText = useStore((s) => s.seedText)
  const seedError = useStore((s) => s.seedError)
  const variants = useStore((s) => s.variants)
  const setVariants = useStore((s) => s.setVariants)
  const pictures = useStore((s) => (s.image ? 1 : 0) + s.moreImages.length)
  const setPrompt = useStore((s) => s.setPrompt)
  const setQuality = useStore((s) => s.setQuality)
  const texture = useStore((s) => s.texture)
  const setTexture = useStore((s) => s.setTexture)
  const setSeed = useStore((s) => s.setSeed)
  const randomSeed = useStore((s) => s.randomSeed)
  const generate = useStore((s) => s.generate)
  const backends = useStore((s) => s.backends)
  const gpuModel = useStore((s) => s.gpuModel)
  const setGpuModel = useStore((s) => s.setGpuModel)
  const models = gpuModels(backends)
  const madeBy = formModel({ backends, gpuModel })
  const promptId = useId()
  const qualityId = useId()
  const modelId = useId()
  const seedId = useId()
  const seedErrorId = useId()
  const seedHintId = useId()
  const variantsId = useId()
  const jobs = Math.max(1, pictures) * variants

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
      {models.length > 1 && (
        <div className="field">
          <label htmlFor={modelId} className="field-label">
            Model
          </label>
          <select
            id={modelId}
            data-testid="model-choice"
            value={madeBy?.model ?? models[0]?.model}
            onChange={(e) => setGpuModel(e.target.value)}
          >
            {models.map(({ model }) => (
              <option key={model} value={model}>
                {model}
              </option>
            ))}
          </select>
        </div>
      )}
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
          <span className="field-label">Texture</span>
          <label className="checkbox" title="GPU servers take minutes more to paint a texture">
            <input type="checkbox" checked={texture} onChange={(e) => setTexture(e.target.checked)} /> Texture
          </label>
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
              aria-describedby={
                [seedError ? seedErrorId : '', madeBy?.seedIsSample ? seedHintId : ''].filter(Boolean).join(' ') ||
                undefined
              }
              onChange={(e) => setSeed(e.target.value)}
            />
            <button type="button" className="secondary" onClick={randomSeed}>
              Random
            </button>
          </div>
          {madeBy?.seedIsSample && (
            <p id={seedHintId} className="muted field-hint" data-testid="seed-is-sample">
              {madeBy.model} ignores the seed: each seed is one sample, kept. The same seed shows it again; another seed
              or Random makes a new one.
            </p>
          )}
          {seedError && (
            <p id={seedErrorId} className="error" role="alert">
              {seedError}
            </p>
          )}
        </div>
      </div>
      <SimilarOfferView />
      <div className="field variants">
        <label htmlFor={variantsId} className="field-label">
          Variants
        </label>
        <input
          id={variantsId}
          type="number"
          min={1}
          max={MAX_VARIANTS}
          value={variants}
          aria-describedby={`${variantsId}-hint`}
          onChange={(e) => setVariants(e.target.value)}
        />
        <span id={`${variantsId}-hint`} className="muted small">
          one job per seed, from the seed up
        </span>
      </div>
      <button type="submit" className="primary" aria-describedby={jobs > 1 ? `${variantsId}-jobs` : undefined}>
        Generate
      </button>
      {jobs > 1 && (
        <p id={`${variantsId}-jobs`} className="muted small">
          Adds {jobs} jobs to the queue.
        </p>
      )}
      <ProgressView />
      <ResultView />
    </form>
  )
}
