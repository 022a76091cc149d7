/**
 * What the input parsers decide per event, and the pure summaries adapters log. Every event
 * yields exactly one outcome: a hint, a reasoned ignore, or the Event Grid validation handshake.
 */
import type { ReconcileHint } from '../model';
import { shortened } from '../errors';

/** Stable, short codes: dashboards and alerts key on them, so never rename one. */
export const IGNORE_REASONS = {
  'unsupported-event-type': 'not an ARM resource event (or an Event Grid system event we do not act on)',
  'invalid-resource-id': 'data.resourceUri is not a subscription-scoped ARM resource ID',
  'not-vmss': 'the resource is neither a scale set, a child of one, nor a plain (Flexible-mode) VM',
  'out-of-scope-subscription': 'the subscription is not in VMSS_MESH_SUBSCRIPTIONS',
  'out-of-scope-resource-group': 'the resource group is not in VMSS_MESH_RESOURCE_GROUPS',
  'failed-operation': 'the ARM operation failed: it changed nothing we can rely on (the timer re-lists anyway)',
  'canceled-operation': 'the ARM operation was canceled: it changed nothing we can rely on (the timer re-lists anyway)',
  'read-only-operation': 'a POST that only reads (list keys, boot diagnostics, …)',
  'no-instance-change': 'an operation that changes neither which instances exist nor their state or health',
  'not-a-scale-set-autoscale': 'an autoscale notification for another resource type (App Service plan, …)',
  'subscription-validation': 'the Event Grid subscription validation handshake (answered, not reconciled)',
} as const;

export type IgnoreReason = keyof typeof IGNORE_REASONS;

export interface HintOutcome {
  readonly kind: 'hint';
  readonly hint: ReconcileHint;
}

export interface IgnoredOutcome {
  readonly kind: 'ignored';
  readonly eventId: string;
  readonly reason: IgnoreReason;
  /** Human-readable specifics (operation name, resource, scope), for logs and `events explain`. */
  readonly detail: string;
  /** What the event was, when known: logged with the ignore so it can be found again. */
  readonly eventType?: string;
  readonly operationName?: string;
  readonly resourceUri?: string;
}

/** `Microsoft.EventGrid.SubscriptionValidationEvent`: reply `{"validationResponse": validationCode}`. */
export interface ValidationOutcome {
  readonly kind: 'validation';
  readonly eventId: string;
  readonly validationCode: string;
  /** Manual-validation URL Event Grid also offers (GET it within 5 minutes instead of replying). */
  readonly validationUrl?: string;
}

export type EventOutcome = HintOutcome | IgnoredOutcome | ValidationOutcome;

export type InputSchema = 'eventgrid' | 'cloudevents' | 'autoscale-webhook';

export interface ParsedDelivery {
  readonly schema: InputSchema;
  /** One per event, in delivery order. */
  readonly outcomes: readonly EventOutcome[];
  /** The first validation event, if the delivery carries one (the route must answer it). */
  readonly validation?: ValidationOutcome;
}

/** The reconcile hints of a delivery, in delivery order. */
export function hintsOf(outcomes: readonly EventOutcome[]): ReconcileHint[] {
  const hints: ReconcileHint[] = [];
  for (const outcome of outcomes) if (outcome.kind === 'hint') hints.push(outcome.hint);
  return hints;
}

/** The one structured log record for an ignored event: the ignore's fields but `kind` (pass it to `logger.info(record)`). */
export interface IgnoredEventLogRecord extends Omit<IgnoredOutcome, 'kind'> {
  readonly msg: string;
  readonly event: 'event-ignored';
}

export function ignoredEventLogRecord(outcome: IgnoredOutcome): IgnoredEventLogRecord {
  const record: { -readonly [K in keyof IgnoredEventLogRecord]: IgnoredEventLogRecord[K] } = {
    msg: `ignored event ${outcome.eventId}: ${outcome.reason}`,
    event: 'event-ignored',
    eventId: outcome.eventId,
    reason: outcome.reason,
    detail: outcome.detail,
  };
  // Absent keys stay absent, so log lines carry no `undefined` noise.
  if (outcome.eventType !== undefined) record.eventType = outcome.eventType;
  if (outcome.operationName !== undefined) record.operationName = outcome.operationName;
  // An over-long URI (a poison event) is shown shortened: one log line, not megabytes.
  if (outcome.resourceUri !== undefined) record.resourceUri = shortened(outcome.resourceUri);
  return record;
}

/** Counts for the one summary line per delivery. */
export interface DeliverySummary {
  readonly events: number;
  readonly hints: number;
  readonly validations: number;
  readonly ignored: Readonly<Partial<Record<IgnoreReason, number>>>;
}

export function summariseOutcomes(outcomes: readonly EventOutcome[]): DeliverySummary {
  let hints = 0;
  let validations = 0;
  const ignored: Partial<Record<IgnoreReason, number>> = {};
  for (const outcome of outcomes) {
    if (outcome.kind === 'hint') hints += 1;
    else if (outcome.kind === 'validation') validations += 1;
    else ignored[outcome.reason] = (ignored[outcome.reason] ?? 0) + 1;
  }
  return { events: outcomes.length, hints, validations, ignored };
}


