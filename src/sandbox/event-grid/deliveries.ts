/**
 * Builds what Event Grid would POST for ARM operations, in both schemas, modelled on the
 * documented resource-group event samples (topic = the resource group, subject = the resource,
 * data = authorization, claims, correlationId, httpRequest, resourceProvider, resourceUri,
 * operationName, status, subscriptionId, tenantId), plus autoscale webhook bodies and the
 * validation handshake. Batching, redelivery (duplicates with the same id) and reordering are
 * seeded so a run can be replayed.
 */
import { seededRandom, type SeededRandom } from './seeded-random';

/** What the ARM emulator records per operation (its `ArmOperationRecord` fits this shape). */
export interface ArmOperation {
  readonly operationName: string;
  readonly resourceUri: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly status: 'Succeeded' | 'Failed' | 'Canceled';
  readonly correlationId: string;
  readonly eventTime: string;
  readonly httpMethod?: 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  /** The request URL, when the operation came in over REST. */
  readonly httpUrl?: string;
}

export interface EventGridSchemaEvent {
  readonly id: string;
  readonly topic: string;
  readonly subject: string;
  readonly eventType: string;
  readonly eventTime: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly dataVersion: string;
  readonly metadataVersion: '1';
}

export interface CloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly subject: string;
  readonly type: string;
  readonly time: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type Delivery =
  | { readonly schema: 'eventgrid'; readonly events: readonly EventGridSchemaEvent[] }
  | { readonly schema: 'cloudevents'; readonly events: readonly CloudEvent[] };

export interface EventOptions {
  /** Topic the events come from: the resource group's system topic (default) or the subscription's. */
  readonly topicScope?: 'resource-group' | 'subscription';
  readonly tenantId?: string;
  /** Object ID of the caller (the service principal that made the ARM request). */
  readonly principalId?: string;
}

export interface DeliveryOptions extends EventOptions {
  readonly schema?: 'eventgrid' | 'cloudevents';
  /** Seeds event IDs, duplicates and order. Default 1. */
  readonly seed?: number;
  /** Events per POST (Event Grid's `maxEventsPerBatch`, 1–5000). Default 1, Event Grid's default. */
  readonly maxEventsPerBatch?: number;
  /** Chance (0–1) that each event is delivered a second time with the same id. Default 0. */
  readonly duplicateRate?: number;
  /** Shuffle events across the whole run, as Event Grid does not keep order. Default false. */
  readonly reorder?: boolean;
}

const DEFAULT_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CONTRIBUTOR_ROLE = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const ARM = 'https://management.azure.com';

/** `Microsoft.Resources.Resource{Write,Delete,Action}{Success,Failure,Cancel}` for an operation. */
export function eventTypeFor(operation: Pick<ArmOperation, 'operationName' | 'status'>): string {
  const lower = operation.operationName.toLowerCase();
  const kind = lower.endsWith('/action') ? 'Action' : lower.endsWith('/delete') ? 'Delete' : lower.endsWith('/write') ? 'Write' : undefined;
  if (!kind) throw new TypeError(`operation name must end in /write, /delete or /action: ${operation.operationName}`);
  const result = { Succeeded: 'Success', Failed: 'Failure', Canceled: 'Cancel' }[operation.status];
  if (!result) throw new TypeError(`status must be Succeeded, Failed or Canceled: ${String(operation.status)}`);
  return `Microsoft.Resources.Resource${kind}${result}`;
}

function topicOf(operation: ArmOperation, options: EventOptions): string {
  return options.topicScope === 'subscription'
    ? `/subscriptions/${operation.subscriptionId}`
    : `/subscriptions/${operation.subscriptionId}/resourceGroups/${operation.resourceGroup}`;
}

function httpMethodOf(operationName: string): 'PUT' | 'POST' | 'DELETE' {
  const lower = operationName.toLowerCase();
  return lower.endsWith('/action') ? 'POST' : lower.endsWith('/delete') ? 'DELETE' : 'PUT';
}

function requestUrl(operation: ArmOperation): string {
  if (operation.httpUrl) return operation.httpUrl;
  const parts = operation.operationName.split('/');
  const action = parts[parts.length - 1]?.toLowerCase() === 'action' ? `/${parts[parts.length - 2] ?? ''}` : '';
  return `${ARM}${operation.resourceUri}${action}?api-version=2024-07-01`;
}

/** The `data` object of a resource event, field for field as ARM fills it. */
export function resourceEventData(operation: ArmOperation, random: SeededRandom, options: EventOptions = {}): Record<string, unknown> {
  const tenantId = options.tenantId ?? DEFAULT_TENANT;
  const principalId = options.principalId ?? random.uuid();
  const issuedAt = Math.floor(Date.parse(operation.eventTime) / 1000) - 300;
  const method = operation.httpMethod ?? httpMethodOf(operation.operationName);
  const data: Record<string, unknown> = {
    authorization: {
      scope: operation.resourceUri,
      action: operation.operationName,
      evidence: {
        role: 'Contributor',
        roleAssignmentScope: `/subscriptions/${operation.subscriptionId}`,
        roleAssignmentId: random.uuid().replace(/-/g, ''),
        roleDefinitionId: CONTRIBUTOR_ROLE.replace(/-/g, ''),
        principalId: principalId.replace(/-/g, ''),
        principalType: 'ServicePrincipal',
      },
    },
    claims: {
      aud: `${ARM}/`,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: String(issuedAt),
      nbf: String(issuedAt),
      exp: String(issuedAt + 3600),
      aio: 'E2ZgYNj8vP3e/fxP1lEdYP5bHwYFAA==',
      appid: principalId,
      appidacr: '2',
      'http://schemas.microsoft.com/identity/claims/identityprovider': `https://sts.windows.net/${tenantId}/`,
      'http://schemas.microsoft.com/identity/claims/objectidentifier': principalId,
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier': principalId,
      'http://schemas.microsoft.com/identity/claims/tenantid': tenantId,
      uti: random.uuid().slice(0, 22),
      ver: '1.0',
    },
    correlationId: operation.correlationId,
  };
  // ARM includes httpRequest for updates, deletes and actions; a plain create carries none.
  if (operation.httpMethod !== undefined || method !== 'PUT') {
    data['httpRequest'] = { clientRequestId: random.uuid(), clientIpAddress: '127.0.0.1', method, url: requestUrl(operation) };
  }
  data['resourceProvider'] = operation.operationName.split('/')[0];
  data['resourceUri'] = operation.resourceUri;
  data['operationName'] = operation.operationName;
  data['status'] = operation.status;
  data['subscriptionId'] = operation.subscriptionId;
  data['tenantId'] = tenantId;
  return data;
}

export function toEventGridEvent(operation: ArmOperation, random: SeededRandom, options: EventOptions = {}): EventGridSchemaEvent {
  return {
    subject: operation.resourceUri,
    eventType: eventTypeFor(operation),
    eventTime: operation.eventTime,
    id: random.uuid(),
    data: resourceEventData(operation, random, options),
    dataVersion: '2',
    metadataVersion: '1',
    topic: topicOf(operation, options),
  };
}

export function toCloudEvent(operation: ArmOperation, random: SeededRandom, options: EventOptions = {}): CloudEvent {
  return {
    source: topicOf(operation, options),
    subject: operation.resourceUri,
    type: eventTypeFor(operation),
    time: operation.eventTime,
    id: random.uuid(),
    data: resourceEventData(operation, random, options),
    specversion: '1.0',
  };
}

/**
 * The POST bodies Event Grid would send for `operations`: built in order, then duplicated and
 * reordered as asked, then cut into batches of `maxEventsPerBatch`.
 */
export function buildDeliveries(operations: readonly ArmOperation[], options: DeliveryOptions = {}): Delivery[] {
  const { schema = 'eventgrid', seed = 1, maxEventsPerBatch = 1, duplicateRate = 0, reorder = false } = options;
  if (!Number.isInteger(maxEventsPerBatch) || maxEventsPerBatch < 1 || maxEventsPerBatch > 5000) {
    throw new TypeError(`maxEventsPerBatch must be an integer from 1 to 5000, got ${maxEventsPerBatch}`);
  }
  if (!(duplicateRate >= 0 && duplicateRate <= 1)) throw new TypeError(`duplicateRate must be in [0, 1], got ${duplicateRate}`);
  const random = seededRandom(seed);
  const build = schema === 'cloudevents' ? toCloudEvent : toEventGridEvent;
  const events: (EventGridSchemaEvent | CloudEvent)[] = [];
  for (const operation of operations) {
    const event = build(operation, random, options);
    events.push(event);
    if (duplicateRate > 0 && random.next() < duplicateRate) events.push(event);
  }
  if (reorder) random.shuffle(events);
  const deliveries: Delivery[] = [];
  for (let i = 0; i < events.length; i += maxEventsPerBatch) {
    const batch = events.slice(i, i + maxEventsPerBatch);
    deliveries.push(schema === 'cloudevents' ? { schema, events: batch as CloudEvent[] } : { schema, events: batch as EventGridSchemaEvent[] });
  }
  return deliveries;
}

/** The handshake Event Grid sends when a webhook subscription is created (Event Grid schema only). */
export function subscriptionValidationDelivery(
  options: { readonly subscriptionId?: string; readonly validationCode?: string; readonly seed?: number; readonly eventTime?: string } = {},
): EventGridSchemaEvent[] {
  const random = seededRandom(options.seed ?? 1);
  const code = options.validationCode ?? random.uuid();
  return [
    {
      id: random.uuid(),
      topic: `/subscriptions/${options.subscriptionId ?? random.uuid()}`,
      subject: '',
      data: {
        validationCode: code,
        validationUrl: `https://rp-westeurope.eventgrid.azure.net:553/eventsubscriptions/vmss-mesh/validate?id=${code}&t=${encodeURIComponent(options.eventTime ?? '2024-05-01T10:00:00.0000000Z')}&apiVersion=2022-06-15&token=${random.uuid()}`,
      },
      eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
      eventTime: options.eventTime ?? '2024-05-01T10:00:00.0000000Z',
      metadataVersion: '1',
      dataVersion: '2',
    },
  ];
}

export interface AutoscaleNotificationInput {
  /** ARM ID of the scaled resource: a scale set, or e.g. an App Service plan (`Microsoft.Web/serverfarms`). */
  readonly resourceId: string;
  readonly oldCapacity: number;
  readonly newCapacity: number;
  readonly timestamp: string;
  readonly settingName?: string;
  readonly status?: 'Activated' | 'Resolved';
  readonly region?: string;
}

/** An autoscale notification webhook body as Azure Monitor posts it (capacities as strings). */
export function autoscaleNotification(input: AutoscaleNotificationInput): Record<string, unknown> {
  const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)$/i.exec(input.resourceId);
  if (!match) throw new TypeError(`not a top-level ARM resource ID: ${input.resourceId}`);
  const [, subscriptionId, resourceGroup, namespace, type, name] = match as unknown as [string, string, string, string, string, string];
  const settingName = input.settingName ?? `${name}-autoscale`;
  return {
    version: '1.0',
    status: input.status ?? 'Activated',
    operation: input.newCapacity >= input.oldCapacity ? 'Scale Out' : 'Scale In',
    context: {
      timestamp: input.timestamp,
      id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/microsoft.insights/autoscalesettings/${settingName}`,
      name: settingName,
      details: `Autoscale successfully started scale operation for resource '${name}' from capacity '${input.oldCapacity}' to capacity '${input.newCapacity}'`,
      subscriptionId,
      resourceGroupName: resourceGroup,
      resourceName: name,
      resourceType: `${namespace}/${type}`.toLowerCase(),
      resourceId: input.resourceId,
      portalLink: `https://portal.azure.com/#resource${input.resourceId}`,
      resourceRegion: input.region ?? 'westeurope',
      oldCapacity: String(input.oldCapacity),
      newCapacity: String(input.newCapacity),
    },
    properties: {},
  };
}
