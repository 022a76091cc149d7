/**
 * Parser for the Azure Monitor autoscale notification webhook body:
 * `{version, status, operation, context: {timestamp, id, name, details, subscriptionId,
 * resourceGroupName, resourceName, resourceType, resourceId, portalLink, oldCapacity, newCapacity},
 * properties}`. Capacities are strings; there are no instance IDs, so the hint is for the scale set.
 *
 * The same hook serves autoscale settings of any resource type (App Service plans, Cloud Service
 * roles, …): those are ignored. Both `Activated` and `Resolved` hint: either way the instance
 * count changed or is changing, and a re-list is what we need.
 */
import { InvalidInputError } from '../errors';
import { HINT_REASON } from '../model';
import { computeTargetOf, parseResourceId } from '../resource-id';
import { describeValue, expectObject, joinPath, optionalString, requiredString, requiredTimestamp, type JsonObject } from './json-fields';
import type { EventOutcome } from './outcome';
import type { ScopeMatcher } from './scope';

export const SCALE_SET_RESOURCE_TYPE = 'microsoft.compute/virtualmachinescalesets';

/** Looks like an autoscale notification (used for auto-detection; the parser checks the rest). */
export function isAutoscaleNotification(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'context' in value && 'operation' in value;
}

export function classifyAutoscaleNotification(body: unknown, scope: ScopeMatcher, path = ''): EventOutcome {
  const notification = expectObject(body, path);
  requiredString(notification, 'status', path);
  const operation = requiredString(notification, 'operation', path);
  const contextPath = joinPath(path, 'context');
  const context = expectObject(notification['context'], contextPath);
  const timestamp = requiredTimestamp(context, 'timestamp', contextPath);
  const settingId = requiredString(context, 'id', contextPath);
  const resourceType = requiredString(context, 'resourceType', contextPath);
  const resourceId = requiredString(context, 'resourceId', contextPath);
  const oldCapacity = capacity(context, 'oldCapacity', contextPath);
  const newCapacity = capacity(context, 'newCapacity', contextPath);
  const settingName = optionalString(context, 'name', contextPath) ?? settingId.split('/').pop() ?? settingId;
  const eventId = `autoscale:${settingId.toLowerCase()}@${timestamp}`;
  const change = `${operation} ${oldCapacity} → ${newCapacity}`;

  if (resourceType.toLowerCase() !== SCALE_SET_RESOURCE_TYPE) {
    return {
      kind: 'ignored',
      eventId,
      reason: 'not-a-scale-set-autoscale',
      detail: `autoscale setting ${settingName} scales a ${resourceType} (${resourceId}), not a scale set: ${change}`,
      eventType: 'autoscale-notification',
      resourceUri: resourceId,
    };
  }
  const resourcePath = joinPath(contextPath, 'resourceId');
  const target = computeTargetOf(parseResourceId(resourceId, resourcePath));
  if (target?.kind !== 'scale-set' || target.childType !== '') {
    throw new InvalidInputError(`resourceType is ${resourceType} but the ID is not a scale set: ${resourceId}`, resourcePath);
  }
  const { ref } = target;
  const outOfScope = scope.check(ref.subscriptionId, ref.resourceGroup);
  if (outOfScope) {
    return {
      kind: 'ignored',
      eventId,
      reason: outOfScope,
      detail: `${ref.id} is outside the configured scope (${scope.describe}): ${change}`,
      eventType: 'autoscale-notification',
      resourceUri: resourceId,
    };
  }
  // Azure sends `Scale Out` / `Scale In`; whatever else a caller sends goes into logs and every
  // relay's push source, so only its first 64 characters do.
  const slug = operation.trim().toLowerCase().replace(/\s+/g, '-').slice(0, 64);
  return {
    kind: 'hint',
    hint: {
      target: { kind: 'scale-set', ref },
      reason: `${HINT_REASON.autoscale}${slug}`,
      eventTime: timestamp,
      eventId,
    },
  };
}

/** Documented as strings (`"3"`); a number is accepted too. */
function capacity(context: JsonObject, key: string, path: string): number {
  const value = context[key];
  const parsed = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < 0) {
    throw new InvalidInputError(`expected an instance count like "3", got ${describeValue(value)}`, joinPath(path, key));
  }
  return parsed;
}
