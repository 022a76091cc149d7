/**
 * Turns one ARM resource event (already read from its envelope, either schema) into an outcome.
 * Checks run in a fixed order, so the reason given is the most fundamental one:
 *   event type → resource ID → is it VMSS-related → scope → succeeded → operation policy → hint.
 */
import { InvalidInputError } from '../errors';
import type { ReconcileHint } from '../model';
import { computeTargetOf, parseResourceId, type ResourceId } from '../resource-id';
import { expectObject, joinPath, optionalString, requiredString, timestampAt } from './json-fields';
import { decideOperation } from './operation-policy';
import type { EventOutcome, IgnoreReason, IgnoredOutcome } from './outcome';
import type { ScopeMatcher } from './scope';

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

const RESOURCE_EVENT = /^microsoft\.resources\.resource(?:write|delete|action)(success|failure|cancel)$/i;
export const VALIDATION_EVENT_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent';

export function classifyEnvelope(event: EventEnvelope, scope: ScopeMatcher): EventOutcome {
  const dataPath = joinPath(event.path, 'data');
  if (event.eventType.toLowerCase() === VALIDATION_EVENT_TYPE.toLowerCase()) {
    const data = expectObject(event.data, dataPath);
    const validationCode = requiredString(data, 'validationCode', dataPath);
    const validationUrl = optionalString(data, 'validationUrl', dataPath);
    return validationUrl === undefined
      ? { kind: 'validation', eventId: event.eventId, validationCode }
      : { kind: 'validation', eventId: event.eventId, validationCode, validationUrl };
  }

  const match = RESOURCE_EVENT.exec(event.eventType);
  if (!match) {
    return ignored(event, 'unsupported-event-type', `event type ${event.eventType} is not an ARM resource event`);
  }
  const eventTime = timestampAt(event.eventTime, joinPath(event.path, event.timeKey));
  const data = expectObject(event.data, dataPath);
  const resourceUri = requiredString(data, 'resourceUri', dataPath);
  const operationName = requiredString(data, 'operationName', dataPath);
  const status = optionalString(data, 'status', dataPath);
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

  const result = (match[1] as string).toLowerCase();
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

  const reason = `event:${operationName}`;
  const hint: ReconcileHint =
    target.kind === 'scale-set'
      ? {
          subscriptionId: target.ref.subscriptionId,
          resourceGroup: target.ref.resourceGroup,
          scaleSet: target.ref.name,
          ...(target.instanceId === undefined ? {} : { instanceId: target.instanceId }),
          reason,
          eventTime,
          eventId: event.eventId,
        }
      : {
          subscriptionId: target.subscriptionId,
          resourceGroup: target.resourceGroup,
          scaleSet: '',
          instanceId: target.vmName,
          vmResourceId: target.vmId,
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
