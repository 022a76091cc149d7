/** Event Grid and autoscale webhook simulator: realistic deliveries built from ARM operation records. */
export {
  autoscaleNotification,
  buildDeliveries,
  eventTypeFor,
  resourceEventData,
  subscriptionValidationDelivery,
  toCloudEvent,
  toEventGridEvent,
  type ArmOperation,
  type AutoscaleNotificationInput,
  type CloudEvent,
  type Delivery,
  type DeliveryOptions,
  type EventGridSchemaEvent,
  type EventOptions,
} from './deliveries';
export { seededRandom, type SeededRandom } from './seeded-random';
export {
  autoscaleRequest,
  eventGridPath,
  eventGridRequest,
  postWebhook,
  validationRequest,
  type EventGridRequestOptions,
  type WebhookRequest,
  type WebhookResponse,
} from './webhook';
export {
  AZURE_REDELIVERY,
  deliverUntilAccepted,
  EVENT_GRID_RETRY_DELAYS_MS,
  NON_RETRYABLE_STATUSES,
  retryDelayMs,
  SANDBOX_REDELIVERY,
  type RedeliveryOutcome,
  type RedeliveryPolicy,
} from './redelivery';
