import { AppError } from '../shared/errors'
import {
  type CallContext,
  type EventName,
  OPERATIONS,
  type OperationHandlers,
  type OperationName,
  type OperationResult,
  SERVICE_OPERATION_NAMES,
  type ServiceOperations,
} from '../shared/operations'
import { describeIssues } from '../shared/schemas'
import { handOver } from './generation/parked-picture'

/**
 * The transport edge: validates an operation's raw argument with the table's schema (once,
 * here) and calls its handler. Both IPC and HTTP go through this, so both refuse the same
 * payloads with the same INVALID_REQUEST message.
 */
export async function dispatch<K extends OperationName>(
  handlers: Pick<OperationHandlers, K>,
  name: K,
  raw: unknown,
  context: CallContext = {},
  /** The raw argument was made for this call alone (deserialized by a transport): the service may take its bytes over. */
  fresh = false,
): Promise<OperationResult<K>> {
  const parsed = OPERATIONS[name].input.safeParse(raw)
  if (!parsed.success) throw new AppError('INVALID_REQUEST', describeIssues(parsed.error))
  if (fresh) handOverPictures(parsed.data)
  const handler = handlers[name] as AnyHandler
  return handler.call(handlers, parsed.data, context) as Promise<OperationResult<K>>
}

/**
 * Hands over the pictures of a transport's fresh argument (its own, or its batch's): their
 * bytes may then wait on disk rather than in memory (ParkedPicture). A picture that appears
 * twice (variants of one picture, sent once over IPC) is shared, so it is not handed over.
 */
function handOverPictures(input: unknown): void {
  const pictures: unknown[] = []
  const each = (value: unknown): void => {
    if (typeof value === 'object' && value !== null && 'image' in value) pictures.push(value.image)
  }
  each(input)
  const batch = typeof input === 'object' && input !== null && 'requests' in input ? input.requests : undefined
  if (Array.isArray(batch)) batch.forEach(each)
  for (const picture of pictures) {
    if (picture instanceof Uint8Array && pictures.indexOf(picture) === pictures.lastIndexOf(picture)) handOver(picture)
  }
}

/** Something that emits the table's events (the service's EventEmitter). */
export interface EventSourceLike {
  on(event: EventName, listener: (payload: never) => void): unknown
  off(event: EventName, listener: (payload: never) => void): unknown
}

type AnyHandler = (input: unknown, context: CallContext) => Promise<unknown>

/**
 * The service's operations, answered once `ready` resolves: a host can register its
 * transport at once (the window shows straight away) and early calls simply wait.
 */
export function whenReady(ready: Promise<ServiceOperations>): ServiceOperations {
  const handlers: Record<string, AnyHandler> = {}
  for (const name of SERVICE_OPERATION_NAMES) {
    handlers[name] = async (input, context) => {
      const service = await ready
      return (service[name] as AnyHandler).call(service, input, context)
    }
  }
  return handlers as unknown as ServiceOperations
}

/** The service's events, once `ready` resolves: listeners added before then are added then, in order. */
export function eventsWhenReady(ready: Promise<{ events: EventSourceLike }>): EventSourceLike {
  const later = (change: (events: EventSourceLike) => unknown): void => {
    ready.then(({ events }) => change(events)).catch(() => undefined)
  }
  return {
    on: (event, listener) => later((events) => events.on(event, listener)),
    off: (event, listener) => later((events) => events.off(event, listener)),
  }
}
