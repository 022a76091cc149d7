/**
 * The Event Grid system events the parser acts on, and the data fields it reads, tied to
 * @azure/eventgrid's model of them (`SystemEventNameToEventData`) at compile time: if the SDK
 * renames an event type or a field we read, `tsc` fails here instead of events going unrecognised
 * in production. Type imports only: nothing of the SDK is loaded or bundled at run time, so the
 * Functions bundle is not made larger or slower by it (its runtime `isSystemEvent` is a
 * case-sensitive equality that would pull about 170 KB of generated mappers into the bundle).
 */
import type { KnownSystemEventTypes, SystemEventNameToEventData } from '@azure/eventgrid';

type ResourceVerb = 'Write' | 'Delete' | 'Action';
type ResourceResult = 'Success' | 'Failure' | 'Cancel';
/** `Microsoft.Resources.Resource{Write,Delete,Action}{Success,Failure,Cancel}`: all nine are SDK system events. */
export type ResourceEventType = Extract<KnownSystemEventTypes, `Microsoft.Resources.Resource${ResourceVerb}${ResourceResult}`>;
/** The data of any of them (the fields all nine share). */
export type ResourceEventData = SystemEventNameToEventData[ResourceEventType];

/** What each resource event type says about the operation (the parser matches names case-insensitively). */
export const RESOURCE_EVENT_RESULTS = {
  'Microsoft.Resources.ResourceWriteSuccess': 'success',
  'Microsoft.Resources.ResourceWriteFailure': 'failure',
  'Microsoft.Resources.ResourceWriteCancel': 'cancel',
  'Microsoft.Resources.ResourceDeleteSuccess': 'success',
  'Microsoft.Resources.ResourceDeleteFailure': 'failure',
  'Microsoft.Resources.ResourceDeleteCancel': 'cancel',
  'Microsoft.Resources.ResourceActionSuccess': 'success',
  'Microsoft.Resources.ResourceActionFailure': 'failure',
  'Microsoft.Resources.ResourceActionCancel': 'cancel',
} as const satisfies Record<ResourceEventType, Lowercase<ResourceResult>>;

/** The `data` fields of a resource event the parser reads, by their SDK names. */
export const RESOURCE_DATA = {
  resourceUri: 'resourceUri',
  operationName: 'operationName',
  status: 'status',
} as const satisfies { readonly [K in keyof ResourceEventData]?: K };

export const VALIDATION_EVENT_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent' satisfies KnownSystemEventTypes;
type ValidationEventData = SystemEventNameToEventData[typeof VALIDATION_EVENT_TYPE];

/** The `data` fields of the validation handshake event, by their SDK names. */
export const VALIDATION_DATA = {
  validationCode: 'validationCode',
  validationUrl: 'validationUrl',
} as const satisfies { readonly [K in keyof ValidationEventData]?: K };
