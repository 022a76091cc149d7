/**
 * Turns one ARM resource event (already read from its envelope, either schema) into an outcome.
 * Checks run in a fixed order, so the reason given is the most fundamental one:
 *   event type → resource ID → is it VMSS-related → scope → succeeded → operation policy → hint.
 */
import { InvalidInputError } from '../errors';
import { HINT_REASON, type ReconcileHint } from '../model';
import { computeTargetOf, parseResourceId, type ResourceId } from '../resource-id';
import { expectObject, joinPath, optionalString, requiredString, timestampAt } from './json-fields';
import { decideOperation } from './operation-policy';
import type { EventOutcome, IgnoreReason, IgnoredOutcome } from './outcome';
import type { ScopeMatcher } from './scope';
import { RESOURCE_DATA, RESOURCE_EVENT_RESULTS, VALIDATION_DATA, VALIDATION_EVENT_TYPE } from './sdk-event-types';

/** The parts of an event both schemas share (Event Grid `eventType`/`eventTime` = CloudEvents `type`/`time`). */
export interface EventEnvelope {
  readonly eventId: string;
  readonly eventType: string;
  /** Unchecked: only resource events need it (as an RFC 3339 timestamp, for coalescing). */
  readonly eventTime: unknown;
  /** Where the time is in this schema, for error paths. */
  readonly timeKey: 'eventTime' | 'time';
  readonly data: unknown;
  /** JSON path of the event in its delivery (`[3]`, or '' for a single event). */
  readonly path: string;
}

export { VALIDATION_EVENT_TYPE };
/** Lower-cased resource event type → the operation's result (types are matched case-insensitively). */
const RESOURCE_EVENT_RESULT: ReadonlyMap<string, 'success' | 'failure' | 'cancel'> = new Map(Object.entries(RESOURCE_EVENT_RESULTS).map(([type, result]) => [type.toLowerCase(), result]));
const VALIDATION_EVENT_TYPE_LOWER = VALIDATION_EVENT_TYPE.toLowerCase();

export function classifyEnvelope(event: EventEnvelope, scope: ScopeMatcher): EventOutcome {
  const dataPath = joinPath(event.path, 'data');
  const eventType = event.eventType.toLowerCase();
  if (eventType === VALIDATION_EVENT_TYPE_LOWER) {
    const data = expectObject(event.data, dataPath);
    const validationCode = requiredString(data, VALIDATION_DATA.validationCode, dataPath);
    const validationUrl = optionalString(data, VALIDATION_DATA.validationUrl, dataPath);
    return validationUrl === undefined
      ? { kind: 'validation', eventId: event.eventId, validationCode }
      : { kind: 'validation', eventId: event.eventId, validationCode, validationUrl };
  }

  const result = RESOURCE_EVENT_RESULT.get(eventType);
  if (result === undefined) {
    return ignored(event, 'unsupported-event-type', `event type ${event.eventType} is not an ARM resource event`);
  }
  const eventTime = timestampAt(event.eventTime, joinPath(event.path, event.timeKey));
  const data = expectObject(event.data, dataPath);
  const resourceUri = requiredString(data, RESOURCE_DATA.resourceUri, dataPath);
  const operationName = requiredString(data, RESOURCE_DATA.operationName, dataPath);
  const status = optionalString(data, RESOURCE_DATA.status, dataPath);
  const context = { eventType: event.eventType, operationName, resourceUri };

  let resource: ResourceId;
  try {
    resource = parseResourceId(resourceUri);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return ignored(event, 'invalid-resource-id', error.message, context);
  }
  const target = computeTargetOf(resource);
  if (!target) return ignored(event, 'not-vmss', `${operationName} on ${resource.id}`, context);

  const outOfScope = scope.check(resource.subscriptionId, target.kind === 'scale-set' ? target.ref.resourceGroup : target.resourceGroup);
  if (outOfScope) return ignored(event, outOfScope, `${resource.id} is outside the configured scope (${scope.describe})`, context);

  if (result !== 'success') {
    const statusText = status === undefined ? '' : ` (status ${status})`;
    return ignored(
      event,
      result === 'failure' ? 'failed-operation' : 'canceled-operation',
      `${operationName} on ${resource.id} did not succeed${statusText}; it changes nothing directly`,
      context,
    );
  }

  const decision = decideOperation(operationName);
  if (decision !== 'hint') return ignored(event, decision, `${operationName} does not change instances`, context);

  const reason = `${HINT_REASON.event}${operationName}`;
  const hint: ReconcileHint =
    target.kind === 'scale-set'
      ? {
          target: { kind: 'scale-set', ref: target.ref },
          ...(target.instanceId === undefined ? {} : { instanceId: target.instanceId }),
          reason,
          eventTime,
          eventId: event.eventId,
        }
      : {
          target: { kind: 'virtual-machine', vmResourceId: target.vmId, subscriptionId: target.subscriptionId, resourceGroup: target.resourceGroup },
          instanceId: target.vmName,
          reason,
          eventTime,
          eventId: event.eventId,
        };
  return { kind: 'hint', hint };
}

function ignored(
  event: EventEnvelope,
  reason: IgnoreReason,
  detail: string,
  context: { eventType: string; operationName?: string; resourceUri?: string } = { eventType: event.eventType },
): IgnoredOutcome {
  return { kind: 'ignored', eventId: event.eventId, reason, detail, ...context };
}
