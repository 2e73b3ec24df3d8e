import { useEffect, useId, useState } from 'react'
import type { JobInfo, JobState } from '../../../shared/contract'
import { formatMs, STAGE_LABEL } from '../format'
import { useStore } from '../store'

const STATE_LABEL: Record<JobState, string> = {
  waiting: 'Waiting',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
}

const RESUMED_LABEL: Record<NonNullable<JobInfo['resumed']>, string> = {
  collected: 'The app stopped while this ran; it was collected from the GPU server, not sent again.',
  'sent again': 'The app stopped while this ran; the GPU server could not be asked for it, so it was sent again.',
  'run again': 'The app stopped while this ran; it was run again.',
}

/** Ticks every second while jobs wait or run, so the times shown stay true. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    if (!active) return
    const timer = setInterval(() => setNow(Date.now()), 1_000)
    return () => clearInterval(timer)
  }, [active])
  return now
}

function settingsText(job: JobInfo): string {
  const { quality, seed, texture, model, prompt } = job.settings
  return [prompt ? `“${prompt}”` : '', quality, `seed ${seed}`, texture ? 'textured' : '', model ?? '']
    .filter(Boolean)
    .join(' · ')
}

/** Handed to a generator, but waiting there for its turn. */
const inLine = (job: JobInfo): boolean => job.state === 'running' && (job.stage === undefined || job.stage === 'queued')

function whereText(job: JobInfo): string {
  if (job.state === 'waiting') return job.position ? `number ${job.position} in the queue` : 'in the queue'
  if (inLine(job)) return job.position ? `next but ${job.position} at the generator` : 'next at the generator'
  return job.server ? `on ${job.server}` : ''
}

/**
 * A job whose GPU server has stopped answering its status polls, or that is past the time
 * the server usually takes (its progress, timed against that, has reached its end), may be
 * on a server that went silent: the user may keep waiting or move the job to another generator.
 */
function SlowServer({ job, name, now }: { job: JobInfo; name: string; now: number }): React.JSX.Element | null {
  const moveJob = useStore((s) => s.moveJob)
  const other = useStore((s) => s.backends.find((backend) => backend.available && !backend.gpu))
  const [waiting, setWaiting] = useState<string | undefined>()
  const onServer = job.state === 'running' && job.server?.startsWith('http') === true
  const silent = onServer && job.silentSince !== undefined
  const slow = onServer && (job.fraction ?? 0) >= 0.95
  // Keep waiting answers this one question: each silence (by when it began) asks anew.
  const asking = silent ? `silent since ${job.silentSince}` : slow ? 'slow' : undefined
  if (!asking || waiting === asking || !other) return null
  const silentSeconds = Math.max(1, Math.round((now - (job.silentSince ?? now)) / 1000))
  return (
    <span className="job-slow" data-testid="job-slow">
      <span className="warning small">
        {silent
          ? `${job.server} has not answered for ${silentSeconds} s: it may be hung, or the network cut.`
          : `Taking longer than ${job.server} usually takes: it may be busy with others, or hung.`}
      </span>{' '}
      <button type="button" className="link" onClick={() => setWaiting(asking)} aria-label={`Keep waiting for ${name}`}>
        Keep waiting
      </button>{' '}
      <button
        type="button"
        className="link"
        onClick={() => void moveJob(job.id, other.id)}
        aria-label={`Make ${name} with the ${other.name} instead`}
      >
        Use the {other.name} instead
      </button>
    </span>
  )
}

function JobRow(props: { job: JobInfo; now: number; isNew: boolean }): React.JSX.Element {
  const { job, now, isNew } = props
  const cancelJob = useStore((s) => s.cancelJob)
  const retryJob = useStore((s) => s.retryJob)
  const openJob = useStore((s) => s.openJob)
  const name = job.pictureName ?? 'picture'
  const waited = Math.max(0, (job.endedAt ?? Math.max(now, Date.now())) - job.queuedAt)
  const percent = Math.round((job.fraction ?? 0) * 100)
  return (
    <li className={`job job-${job.state}`} data-testid="job" data-state={job.state} data-id={job.id}>
      {job.pictureUrl ? (
        <img className="job-thumb" src={job.pictureUrl} alt="" width={48} height={48} />
      ) : (
        <span className="job-thumb" aria-hidden="true" />
      )}
      <div className="job-body">
        <div className="job-title">
          <strong>{name}</strong>{' '}
          <span className={`badge badge-job-${inLine(job) ? 'waiting' : job.state}`}>
            {inLine(job) ? 'In line' : STATE_LABEL[job.state]}
          </span>
          {isNew && <span className="badge badge-new">new</span>}
          {job.cache === 'hit' && <span className="muted small"> from the cache</span>}
        </div>
        <span className="muted small">{settingsText(job)}</span>
        <span className="muted small" data-testid="job-where">
          {whereText(job)}
          {whereText(job) ? ' · ' : ''}
          {job.state === 'waiting' || job.state === 'running' ? 'waiting ' : 'took '}
          {formatMs(waited)}
        </span>
        {job.state === 'running' && !inLine(job) && (
          <span className="job-progress">
            <span className="muted small" data-testid="job-stage">
              {job.stage ? STAGE_LABEL[job.stage] : 'Starting'} · {percent}%
            </span>
            <progress max={100} value={percent} aria-label={`Progress of ${name}`}>
              {percent}%
            </progress>
          </span>
        )}
        <SlowServer job={job} name={name} now={now} />
        {job.resumed && (
          <span className="muted small" data-testid="job-resumed">
            {RESUMED_LABEL[job.resumed]}
          </span>
        )}
        {job.error && (
          <span className="error small" data-testid="job-error">
            {job.error}
          </span>
        )}
      </div>
      <div className="job-actions">
        {(job.state === 'waiting' || job.state === 'running') && (
          <button type="button" className="link" aria-label={`Cancel ${name}`} onClick={() => void cancelJob(job.id)}>
            Cancel
          </button>
        )}
        {(job.state === 'failed' || job.state === 'cancelled') && (
          <button type="button" className="link" aria-label={`Retry ${name}`} onClick={() => void retryJob(job.id)}>
            Retry
          </button>
        )}
        {job.state === 'done' && (
          <button type="button" className="link" aria-label={`Open ${name}`} onClick={() => openJob(job.id)}>
            Open
          </button>
        )}
      </div>
    </li>
  )
}

/** Every job not yet cleared: what waits, runs and finished, live. */
export function JobsList(): React.JSX.Element | null {
  const jobs = useStore((s) => s.jobs)
  const unseen = useStore((s) => s.unseen)
  const problems = useStore((s) => s.jobProblems)
  const clearJobs = useStore((s) => s.clearJobs)
  const headingId = useId()
  const active = jobs.some((job) => job.state === 'waiting' || job.state === 'running')
  const now = useNow(active)
  if (jobs.length === 0 && problems.length === 0) return null
  const finished = jobs.filter((job) => job.state !== 'waiting' && job.state !== 'running').length
  const waiting = jobs.filter((job) => job.state === 'waiting')
  return (
    <section className="card jobs" aria-labelledby={headingId} data-testid="jobs">
      <div className="jobs-header">
        <h2 id={headingId}>Jobs</h2>
        <button type="button" className="secondary" disabled={finished === 0} onClick={() => void clearJobs()}>
          Clear finished
        </button>
      </div>
      {problems.map((problem) => (
        <p key={problem} className="warning small" role="status">
          {problem}
        </p>
      ))}
      <ul className="job-list">
        {jobs.map((job) => (
          <JobRow
            key={job.id}
            job={job.state === 'waiting' ? { ...job, position: waiting.indexOf(job) + 1 } : job}
            now={now}
            isNew={unseen.includes(job.id)}
          />
        ))}
      </ul>
    </section>
  )
}
