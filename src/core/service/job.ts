import type { EntryMeta } from '../../shared/cache-types'
import type { ParsedGenerateRequest } from '../../shared/schemas'
import type { Generator, GeneratorInput } from '../generation/generator'
import { normalizePrompt } from '../generation/request-key'
import type { SimilarityParams } from '../similar/similar-models'

/** One request, resolved: what to generate, by whom, under which key, and what to remember of it. */
export interface Job {
  key: string
  generator: Generator
  input: GeneratorInput
  /** What the cache keeps beside the model (the request's parameters), shown in the panel. */
  meta: EntryMeta
  /** The picture: its thumbnail and perceptual hash are made beside the generation. */
  picture?: Uint8Array
}

/** A short, stable text of a backend's identity (its version and the parameters it resolves). */
export function identityText(identity: Record<string, string | number | boolean>): string {
  return Object.keys(identity)
    .sort()
    .map((k) => `${k}=${identity[k]}`)
    .join(',')
}

/** The parameters that decide an app request's model: what similar pictures must share. */
export function appParams(request: ParsedGenerateRequest, generator: Generator): SimilarityParams {
  return {
    prompt: normalizePrompt(request.prompt),
    quality: request.quality,
    seed: request.seed,
    backend: generator.id,
    identity: identityText(generator.identity(request.quality)),
  }
}

/** The job of a request from the app's own form or API. */
export function appJob(request: ParsedGenerateRequest, generator: Generator, key: string): Job {
  const { image, prompt, quality, seed } = request
  return {
    key,
    generator,
    input: { image, prompt, quality, seed },
    meta: { ...appParams(request, generator) },
    picture: image,
  }
}
