import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Backends } from '../src/core/service/backends'
import { ModelService } from '../src/core/service/model-service'
import { TieredStore } from '../src/core/service/tiered-store'
import { DiskTier } from '../src/core/storage/disk-tier'
import { ThumbnailStore } from '../src/core/storage/thumbnail-store'
import { redisConnector } from '../src/core/team/connect'
import { SharedTier } from '../src/core/team/shared-tier'
import { TeamScheduler } from '../src/core/team/team-scheduler'
import { appAddresses } from '../src/shared/addresses'
import type { ParsedGenerateRequest } from '../src/shared/schemas'
import { fixture } from '../test/support/fixtures'
import { GatedGenerator } from '../test/support/gated-generator'
import { startRedis } from '../test/support/redis-server'
import { HUNYUAN_SECONDS } from './hit'
import { type BenchReport, fmt, markdownTable, rng, zipfStream } from './lib'

/**
 * A studio's day, replayed: three artists (three instances, each with its own memory and disk
 * tiers) draw requests from one shared pool with a Zipf(1.0) popularity, so they often repeat
 * each other's requests, in rounds of three at once. Once with separate caches, once in team
 * mode on a real redis-server; generations are counted at the generators, and priced at the
 * original plan's 124.6 s of GPU time each.
 */

const ARTISTS = 3
const POOL = 60
const REQUESTS_PER_ARTIST = 120

async function instances(team: { url: string; prefix: string } | undefined) {
  return Promise.all(
    Array.from({ length: ARTISTS }, async () => {
      const generator = new GatedGenerator('gpu')
      const dir = join(mkdtempSync(join(tmpdir(), 'meshcache-team-bench-')), 'models')
      const connect = team ? redisConnector(team.url, () => undefined) : undefined
      const scheduler =
        team && connect
          ? new TeamScheduler({
              connect: () => connect(),
              prefix: team.prefix,
              workers: [{ generator, concurrency: 1 }],
              log: () => undefined,
            })
          : undefined
      await scheduler?.start()
      const store = new TieredStore({
        disk: new DiskTier({ dir, log: () => undefined }),
        shared:
          team && connect
            ? new SharedTier({
                redis: connect({ failFast: true }),
                prefix: team.prefix,
                maxBytes: 20 * 1024 ** 3,
                log: () => undefined,
              })
            : undefined,
        thumbnails: new ThumbnailStore(),
      })
      const service = new ModelService({
        store,
        backends: new Backends([generator], { team: scheduler }),
        addresses: appAddresses,
      })
      await service.open()
      for (let i = 0; i < 500 && scheduler && !scheduler.ready; i++) await new Promise((r) => setTimeout(r, 10))
      return { service, generator }
    }),
  )
}

async function replay(team: { url: string; prefix: string } | undefined): Promise<number> {
  const artists = await instances(team)
  const image = fixture('triposr-chair')
  const streams = artists.map((_, i) => zipfStream(POOL, REQUESTS_PER_ARTIST, 1.0, 7 + i))
  const order = rng(42)
  const request = (n: number): ParsedGenerateRequest => ({
    image,
    prompt: '',
    quality: 'draft',
    seed: n,
    texture: false,
    reuse: 'exact',
  })
  for (let step = 0; step < REQUESTS_PER_ARTIST; step++) {
    // The three artists ask at once, in a shuffled order.
    const who = artists.map((_, i) => i).sort(() => order() - 0.5)
    await Promise.all(
      who.map((i) => artists[i]?.service.generate(request((streams[i] as Uint32Array)[step] as number))),
    )
  }
  const generations = artists.reduce((sum, a) => sum + a.generator.runs, 0)
  await Promise.all(artists.map((a) => a.service.close()))
  return generations
}

export async function runTeamBench(): Promise<BenchReport> {
  const redis = await startRedis()
  try {
    const separate = await replay(undefined)
    const team = await replay({ url: redis.url, prefix: `bench-${Date.now()}` })
    const requests = ARTISTS * REQUESTS_PER_ARTIST
    const gpu = (n: number): string => `${fmt((n * HUNYUAN_SECONDS) / 3600, 1)} h`
    const rows = [
      ['separate caches (one per artist)', requests, separate, gpu(separate), '1.00x'],
      ['team mode (shared tier, one generation per request)', requests, team, gpu(team), `${fmt(separate / team, 2)}x`],
    ]
    const table = markdownTable(
      ['setup', 'requests', 'generations run', `GPU time at ${HUNYUAN_SECONDS} s each`, 'fewer generations'],
      rows,
    )
    return {
      name: 'team',
      table,
      data: { artists: ARTISTS, pool: POOL, requestsPerArtist: REQUESTS_PER_ARTIST, separate, team },
    }
  } finally {
    await redis.stop()
  }
}
