/** Inputs → reconcile hints. See `delivery.ts` for the entry points and `operation-policy.ts` for what hints. */
export { classifyEvent, detectInput, parseAutoscaleNotification, parseDelivery, parseInput, type ParseOptions } from './delivery';
export { groupDeliveryHints, hintKey, type DeliveryHintGroup } from './delivery-groups';
export { decideOperation, HINTING_OPERATIONS, type OperationDecision } from './operation-policy';
export {
  hintsOf,
  IGNORE_REASONS,
  ignoredEventLogRecord,
  summariseOutcomes,
  type DeliverySummary,
  type EventOutcome,
  type HintOutcome,
  type IgnoredEventLogRecord,
  type IgnoredOutcome,
  type IgnoreReason,
  type InputSchema,
  type ParsedDelivery,
  type ValidationOutcome,
} from './outcome';
export { VALIDATION_EVENT_TYPE } from './resource-event';
export { EVERYTHING, scopeMatcher, type ScopeMatcher } from './scope';
export { SCALE_SET_RESOURCE_TYPE } from './autoscale-webhook';
