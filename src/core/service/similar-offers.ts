import type { Addresses } from '../../shared/addresses'
import type { GenerateResult, SimilarResult } from '../../shared/contract'
import type { ParsedGenerateRequest } from '../../shared/schemas'
import type { Generator } from '../generation/generator'
import { pictureQuery } from '../similar/perceptual-hash'
import type { SimilarModels } from '../similar/similar-models'
import { type Keyed, similarityParams } from './job'
import type { RequestLog } from './request-log'
import type { TieredStore } from './tiered-store'

/**
 * Stored models made from a near-identical picture with the same parameters: offered to the
 * caller (`similar`), or served in place of a generation when the request asks for it
 * (`reuse: "similar"`). Never used silently.
 */
export class SimilarOffers {
  constructor(
    readonly models: SimilarModels,
    private readonly store: TieredStore,
    private readonly addresses: Addresses,
    private readonly log: RequestLog,
  ) {}

  /** The matches for a request whose own key is `key`, nearest first. */
  async offer(request: ParsedGenerateRequest, generator: Generator, keyed: Keyed): Promise<SimilarResult> {
    const found = await this.find(request, generator, keyed)
    if (found.length > 0) this.models.offers++
    const matches = found.flatMap(({ key: match, distance }) => {
      const info = this.store.info(match)
      if (!info) return []
      const { bytes, generationMs } = info
      return [
        {
          key: match,
          distance,
          prompt: String(info.meta.prompt ?? ''),
          bytes,
          generationMs,
          modelUrl: this.addresses('model', match),
          thumbnailUrl: this.addresses('thumbnail', match),
        },
      ]
    })
    return { matches }
  }

  /** `reuse: "similar"`: the nearest stored model made from a near-identical picture, if any. */
  async reuse(
    request: ParsedGenerateRequest,
    generator: Generator,
    keyed: Keyed,
    requestId: string,
    started: number,
  ): Promise<GenerateResult | undefined> {
    const requestedKey = keyed.key
    for (const { key, distance } of await this.find(request, generator, keyed)) {
      const bytes = await this.store.model(key)
      const info = this.store.info(key)
      if (!bytes || !info) continue
      this.models.reuses++
      this.store.touch(key)
      this.log.record({ key, bytes: bytes.byteLength, generationMs: info.generationMs })
      return {
        requestId,
        key,
        requestedKey,
        distance,
        cache: 'similar',
        tier: 'memory',
        bytes: bytes.byteLength,
        generationMs: Math.round(info.generationMs),
        servedMs: performance.now() - started,
        backend: generator.id,
        modelUrl: this.addresses('model', key),
        stored: true,
      }
    }
    return undefined
  }

  private async find(request: ParsedGenerateRequest, generator: Generator, keyed: Keyed) {
    const query = await pictureQuery(request.image)
    return this.models.find(query, similarityParams(generator, keyed.params), keyed.key, (k) => this.store.has(k))
  }
}
