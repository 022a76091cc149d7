/**
 * The Functions app's metrics: names, units and attribute values in one place. Dashboards and
 * alerts key on them (Azure Monitor's customMetrics `name`, Prometheus series locally), so never
 * rename one. Every attribute takes values from a fixed set: no IDs, no free text.
 */
import { HINT_REASON } from '../../shared/model';

/** The OpenTelemetry meter (instrumentation scope) the app records with. */
export const METER_NAME = 'vmss-mesh-functions';

export const METRICS = {
  /** Counter, per reconcile run (one per scale set per run, however many hints shared it). */
  reconciles: 'vmss_mesh_reconciles',
  /** Counter: nodes registered in Consul (new instances). */
  registrations: 'vmss_mesh_registrations',
  /** Counter: registrations rewritten (address, health, tags changed). */
  updates: 'vmss_mesh_registration_updates',
  /** Counter: nodes deregistered. */
  deregistrations: 'vmss_mesh_deregistrations',
  /** Counter: what a plan left alone, by the skip code (src/shared/planner/skip-reasons.ts). */
  skips: 'vmss_mesh_skips',
  /** Histogram (s): one reconcile run, ARM listing to relay push. */
  reconcileDuration: 'vmss_mesh_reconcile_duration',
  /** Histogram (s): an event's time (Event Grid `eventTime`, autoscale `context.timestamp`) to its relay push done. */
  eventToPush: 'vmss_mesh_event_to_push_duration',
  /** Counter: relay pushes of reconcile runs (one per relay per run that changed something), by result. */
  pushes: 'vmss_mesh_relay_pushes',
  /** Counter: events and notifications that led to no reconcile, by reason (src/shared/events/outcome.ts). */
  eventsIgnored: 'vmss_mesh_events_ignored',
  /** Observable counter: ARM HTTP requests of this worker, retries included, by result. */
  armRequests: 'vmss_mesh_arm_requests',
  /** Observable gauge: ARM's remaining reads now (lowest of the x-ms-ratelimit-remaining-* headers' latest values), per subscription. */
  armReadsRemaining: 'vmss_mesh_arm_reads_remaining',
} as const;

/** What started a reconcile run. */
export type Trigger = 'event' | 'autoscale' | 'sweep';

/** The source the timer gives its sweep (`timer`, `timer (past due)`): its runs count as `sweep`. */
export const SWEEP_SOURCE = 'timer';

/**
 * The trigger of the request that started a run, from the source the run was started with (its
 * report's `source`): the sweep's, or a hint's reason (`event:…`, `autoscale:…`, see
 * src/shared/events); undefined when it tells none.
 */
export function triggerOfSource(source: string | undefined): Trigger | undefined {
  if (source === undefined) return undefined;
  if (source === SWEEP_SOURCE || source.startsWith(`${SWEEP_SOURCE} `)) return 'sweep';
  if (source.startsWith(HINT_REASON.event)) return 'event';
  return source.startsWith(HINT_REASON.autoscale) ? 'autoscale' : undefined;
}

/**
 * A reconcile's outcome: the report's (applied, unchanged, unknown, superseded, not-in-mesh), or
 * `failed` when it threw (ARM or Consul unreachable, a wrong setting: the trigger is retried).
 * A thrown run leaves no report to recognise it by, so `failed` counts each hint that got the
 * error (events that shared the run each count) and each scale set a sweep could not reconcile.
 */
export const FAILED_OUTCOME = 'failed';

/** ARM request results. */
export type ArmResult = 'ok' | 'throttled' | 'failed';

/** Histogram bounds in seconds: a reconcile takes from tens of ms to tens of seconds (throttled ARM). */
export const SECONDS_BUCKETS: readonly number[] = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
