import type { EntryMeta } from '../../shared/cache-types'
import type { ParsedGenerateRequest } from '../../shared/schemas'
import type { Generator, GeneratorInput, ServerKind } from '../generation/generator'
import type { ParkedPicture } from '../generation/parked-picture'
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
  /** The picture while it waits on disk: `picture` and `input.image` are then empty (see ParkedPicture). */
  parked?: ParkedPicture
  /** A textured request's untextured twin: if cached, only texturing runs (ShapeReuse). */
  shapeKey?: string
}

/** A short, stable text of a backend's identity (its version and the parameters it resolves). */
export function identityText(identity: Record<string, string | number | boolean>): string {
  return Object.keys(identity)
    .sort()
    .map((k) => `${k}=${identity[k]}`)
    .join(',')
}

/** What similar pictures must share for one's model to stand in for another's: the keyed parameters. */
export function similarityParams(generator: Generator, params: KeyParams): SimilarityParams {
  return { backend: generator.id, identity: identityText(params) }
}

/** The keyed parameters of a request for one generator (Generator.keyParams). */
export type KeyParams = Record<string, string | number | boolean>

/** A request keyed for a generator. */
export interface Keyed {
  key: string
  params: KeyParams
}

/** An app request whose `texture` is decided (asked, or the generator's default). */
export type TexturedRequest = ParsedGenerateRequest & { texture: boolean }

/** The model a generator makes for a request keyed for `kind` (a GPU server's), for the entry's label. */
export function modelOf(generator: Generator, kind: ServerKind | undefined): string {
  return kind?.model ?? generator.model ?? `${generator.id} ${generator.version}`
}

/**
 * The job of a request from the app's own form or API, keyed for a GPU server of `kind` when
 * the generator is a pool; the prompt, quality, seed and model are kept as labels.
 */
export function appJob(request: TexturedRequest, generator: Generator, keyed: Keyed, kind?: ServerKind): Job {
  const { image, prompt, quality, seed, texture, pictureName } = request
  return {
    key: keyed.key,
    generator,
    input: { image, prompt, quality, seed, texture, ...(kind ? { keyedFor: kind.route } : {}) },
    meta: {
      prompt: normalizePrompt(prompt),
      quality,
      seed,
      texture,
      model: modelOf(generator, kind),
      ...(pictureName ? { pictureName } : {}),
      ...similarityParams(generator, keyed.params),
    },
    picture: image,
  }
}
