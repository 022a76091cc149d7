/**
 * How Event Grid and Azure Monitor POST to a Functions app: the local route `func start` serves
 * (`/runtime/webhooks/eventgrid?functionName=NAME`) with Event Grid's `aeg-*` headers, and the
 * autoscale webhook as plain JSON to an HTTP function.
 */
import type { Delivery, EventGridSchemaEvent } from './deliveries';

export interface WebhookRequest {
  readonly method: 'POST';
  /** Path and query, to be joined to the host's base URL. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface EventGridRequestOptions {
  /** Default `vmssEvents`. */
  readonly functionName?: string;
  /** Event Grid's retry counter, from 0 (`aeg-delivery-count`). */
  readonly deliveryCount?: number;
  readonly subscriptionName?: string;
}

export function eventGridPath(functionName = 'vmssEvents'): string {
  return `/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(functionName)}`;
}

export function eventGridRequest(delivery: Delivery, options: EventGridRequestOptions = {}): WebhookRequest {
  const headers: Record<string, string> = {
    'content-type': delivery.schema === 'cloudevents' ? 'application/cloudevents-batch+json; charset=utf-8' : 'application/json',
    'aeg-event-type': 'Notification',
    'aeg-subscription-name': (options.subscriptionName ?? 'VMSS-MESH').toUpperCase(),
    'aeg-delivery-count': String(options.deliveryCount ?? 0),
  };
  if (delivery.schema === 'eventgrid') {
    headers['aeg-data-version'] = delivery.events[0]?.dataVersion ?? '2';
    headers['aeg-metadata-version'] = '1';
  }
  return { method: 'POST', path: eventGridPath(options.functionName), headers, body: JSON.stringify(delivery.events) };
}

export function validationRequest(events: readonly EventGridSchemaEvent[], options: EventGridRequestOptions = {}): WebhookRequest {
  return {
    method: 'POST',
    path: eventGridPath(options.functionName),
    headers: {
      'content-type': 'application/json',
      'aeg-event-type': 'SubscriptionValidation',
      'aeg-subscription-name': (options.subscriptionName ?? 'VMSS-MESH').toUpperCase(),
      'aeg-delivery-count': '0',
    },
    body: JSON.stringify(events),
  };
}

/** The autoscale webhook to an HTTP function (default the app's `autoscaleWebhook` route); Azure Monitor sends plain JSON. */
export function autoscaleRequest(body: Readonly<Record<string, unknown>>, path = '/api/autoscaleWebhook'): WebhookRequest {
  return { method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export interface WebhookResponse {
  readonly status: number;
  readonly body: string;
}

/** Sends `request` to `baseUrl` (e.g. `http://127.0.0.1:7071`) and returns status and body text. */
export async function postWebhook(baseUrl: string, request: WebhookRequest, signal?: AbortSignal): Promise<WebhookResponse> {
  const response = await fetch(new URL(request.path, baseUrl), {
    method: request.method,
    headers: request.headers,
    body: request.body,
    ...(signal ? { signal } : {}),
  });
  return { status: response.status, body: await response.text() };
}
