/**
 * Entry points for whole inputs. `parseDelivery` takes what Event Grid POSTs (either schema,
 * auto-detected); `classifyEvent` takes one event, as the Functions Event Grid trigger hands them
 * over; `parseAutoscaleNotification` takes the autoscale webhook body; `parseInput` takes any of
 * them (for `vmss-mesh events explain`).
 *
 * A delivery whose shape is wrong (not JSON objects, a field of the wrong type, mixed schemas)
 * throws `InvalidInputError` naming the JSON path: Event Grid must not retry it (400 → dead-letter).
 * Events that are well-formed but not for us become `ignored` outcomes, never errors.
 * One pass, one outcome per event, no per-event copies of the input.
 */
import type { ScopeConfig } from '../config';
import { InvalidInputError } from '../errors';
import { classifyAutoscaleNotification, isAutoscaleNotification } from './autoscale-webhook';
import { isCloudEvent, readCloudEvent } from './cloud-events';
import { isEventGridEvent, readEventGridEvent } from './event-grid-schema';
import { describeValue } from './json-fields';
import type { EventOutcome, InputSchema, ParsedDelivery, ValidationOutcome } from './outcome';
import { classifyEnvelope, type EventEnvelope } from './resource-event';
import { scopeMatcher, type ScopeMatcher } from './scope';

export interface ParseOptions {
  /** Subscriptions / resource groups to act on; empty lists = everything. */
  readonly scope: ScopeConfig;
}

type Reader = (value: unknown, path: string) => EventEnvelope;

/** An Event Grid POST body: an array in either schema, or one CloudEvent (structured mode). */
export function parseDelivery(body: unknown, options: ParseOptions): ParsedDelivery {
  const scope = scopeMatcher(options.scope);
  if (!Array.isArray(body)) {
    if (isCloudEvent(body)) return finish('cloudevents', [classifyEnvelope(readCloudEvent(body, ''), scope)]);
    if (isEventGridEvent(body)) {
      throw new InvalidInputError('an Event Grid schema delivery is an array of events: wrap the event in [ ]');
    }
    throw new InvalidInputError(`expected an array of Event Grid events or CloudEvents, got ${describeValue(body)}`);
  }
  if (body.length === 0) throw new InvalidInputError('expected at least one event, got an empty array');
  const first: unknown = body[0];
  const [schema, read]: [InputSchema, Reader] = isCloudEvent(first)
    ? ['cloudevents', readCloudEvent]
    : isEventGridEvent(first)
      ? ['eventgrid', readEventGridEvent]
      : invalidFirst(first);
  const outcomes: EventOutcome[] = new Array<EventOutcome>(body.length);
  for (let i = 0; i < body.length; i += 1) outcomes[i] = classifyEnvelope(read(body[i], `[${i}]`), scope);
  return finish(schema, outcomes);
}

function invalidFirst(first: unknown): never {
  throw new InvalidInputError(`expected an Event Grid event (with eventType) or a CloudEvent (with specversion), got ${describeValue(first)}`, '[0]');
}

/** One event in either schema (the Functions host invokes the Event Grid trigger once per event). */
export function classifyEvent(event: unknown, options: ParseOptions | { readonly matcher: ScopeMatcher }): EventOutcome {
  const scope = 'matcher' in options ? options.matcher : scopeMatcher(options.scope);
  const read: Reader = isCloudEvent(event) ? readCloudEvent : readEventGridEvent;
  return classifyEnvelope(read(event, ''), scope);
}

export function parseAutoscaleNotification(body: unknown, options: ParseOptions): ParsedDelivery {
  return finish('autoscale-webhook', [classifyAutoscaleNotification(body, scopeMatcher(options.scope))]);
}

/** Which input `body` is, or `undefined` when it is none of them. */
export function detectInput(body: unknown): InputSchema | undefined {
  const sample: unknown = Array.isArray(body) ? body[0] : body;
  if (isCloudEvent(sample)) return 'cloudevents';
  if (isEventGridEvent(sample)) return 'eventgrid';
  if (!Array.isArray(body) && isAutoscaleNotification(body)) return 'autoscale-webhook';
  return undefined;
}

/** Any supported input, auto-detected: an Event Grid delivery (either schema) or an autoscale webhook body. */
export function parseInput(body: unknown, options: ParseOptions): ParsedDelivery {
  if (detectInput(body) === 'autoscale-webhook') return parseAutoscaleNotification(body, options);
  if (!Array.isArray(body) && !isCloudEvent(body) && !isEventGridEvent(body)) {
    throw new InvalidInputError(
      `expected an Event Grid delivery (array of events), a CloudEvent, or an autoscale webhook body ({version, status, operation, context}), got ${describeValue(body)}`,
    );
  }
  return parseDelivery(body, options);
}

function finish(schema: InputSchema, outcomes: EventOutcome[]): ParsedDelivery {
  const validation = outcomes.find((o): o is ValidationOutcome => o.kind === 'validation');
  return validation ? { schema, outcomes, validation } : { schema, outcomes };
}
