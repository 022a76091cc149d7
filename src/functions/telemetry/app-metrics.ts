/**
 * Records the app's metrics through the OpenTelemetry API from what the reconciles return (the
 * domain in src/shared knows nothing of OpenTelemetry). Without a registered MeterProvider the
 * API hands out no-op instruments: recording costs next to nothing.
 *
 * One reconcile run is counted once, however many hints and sweeps shared it (the coalescer hands
 * every request of a run the same report object) and whether its outcome came back to a hint, to
 * the sweep or, for hints acknowledged before it ended, through the reconciler's `onQueuedOutcome`;
 * always under the trigger of the request that started it (the report's `source`), whoever reports
 * it first. Event-to-push latency is per hint, under the hint's trigger: each event has its own time.
 */
import type { Attributes, Counter, Histogram, Meter, ObservableCounter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { ArmCallStats } from '../../shared/azure/arm-call-meter';
import type { RelayPushResult } from '../../shared/endpoints';
import type { ReconcileHint } from '../../shared/model';
import { SKIP, skipCode } from '../../shared/planner/skip-reasons';
import type { SweepReport } from '../../shared/reconcile/reconcile-run';
import type { ReconcileReport } from '../../shared/reconcile/reconcile-scale-set';
import type { HintResult, QueuedOutcome } from '../../shared/reconcile/reconciler';
import { FAILED_OUTCOME, METRICS, SECONDS_BUCKETS, triggerOfSource, type Trigger } from './metric-names';

export interface AppMetricsOptions {
  readonly meter: Meter;
  /** The ARM clients' request totals (src/shared/azure/arm-call-meter.ts), observed at each collection. */
  readonly arm?: { readonly totals: ArmCallStats };
  /** ARM's read budget per subscription (src/shared/azure/arm-budget.ts), observed at each collection. */
  readonly armBudget?: { snapshot(): ReadonlyArray<{ readonly subscriptionId: string; readonly latestRemaining: number }> };
  /** When the relay push of a run ended (see `timedPublisher`); default: when its report arrived here. */
  readonly pushDoneAt?: (pushes: readonly RelayPushResult[]) => number | undefined;
  readonly now?: () => number;
}

/** Hints acknowledged before their run ended, waiting for its outcome (per scale set). */
interface PendingHint {
  readonly trigger: Trigger;
  readonly eventTimeMs: number;
  readonly since: number;
}

/** Queued hints remembered per scale set, and for how long: the memory stays bounded. */
const MAX_PENDING_PER_SCALE_SET = 1000;
const PENDING_FORGET_MS = 10 * 60_000;

const KNOWN_SKIP_CODES: ReadonlySet<string> = new Set(Object.values(SKIP));

export class AppMetrics {
  private readonly reconciles: Counter;
  private readonly registrations: Counter;
  private readonly updates: Counter;
  private readonly deregistrations: Counter;
  private readonly skips: Counter;
  private readonly pushes: Counter;
  private readonly ignoredEvents: Counter;
  private readonly duration: Histogram;
  private readonly eventToPush: Histogram;
  private readonly armRequests: ObservableCounter;
  private readonly observeArm: ((result: ObservableResult) => void) | undefined;
  private readonly armReadsRemaining: ObservableGauge;
  private readonly observeBudget: ((result: ObservableResult) => void) | undefined;
  private readonly counted = new WeakSet<ReconcileReport>();
  private readonly pending = new Map<string, PendingHint[]>();
  private readonly now: () => number;

  constructor(private readonly options: AppMetricsOptions) {
    const { meter } = options;
    this.now = options.now ?? Date.now;
    this.reconciles = meter.createCounter(METRICS.reconciles, { description: 'Reconcile runs of one scale set, by outcome and trigger' });
    this.registrations = meter.createCounter(METRICS.registrations, { description: 'Nodes registered in Consul' });
    this.updates = meter.createCounter(METRICS.updates, { description: 'Registrations rewritten (address, health or tags changed)' });
    this.deregistrations = meter.createCounter(METRICS.deregistrations, { description: 'Nodes deregistered from Consul' });
    this.skips = meter.createCounter(METRICS.skips, { description: 'Nodes (or whole scale sets) a reconcile plan left alone, by reason' });
    this.pushes = meter.createCounter(METRICS.pushes, { description: 'Relay pushes after reconciles that changed Consul, by result' });
    this.ignoredEvents = meter.createCounter(METRICS.eventsIgnored, { description: 'Events and autoscale notifications that led to no reconcile, by reason' });
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: [...SECONDS_BUCKETS] } };
    this.duration = meter.createHistogram(METRICS.reconcileDuration, { ...seconds, description: 'Duration of one reconcile run (ARM listing to relay push)' });
    this.eventToPush = meter.createHistogram(METRICS.eventToPush, { ...seconds, description: "From an event's time to the relay push of the reconcile that covered it" });
    this.armRequests = meter.createObservableCounter(METRICS.armRequests, { description: 'ARM HTTP requests (each retry counts), by result' });
    const arm = options.arm;
    if (arm) {
      this.observeArm = (result) => {
        const { requests, throttled, failed } = arm.totals;
        result.observe(requests - throttled - failed, { result: 'ok' });
        result.observe(throttled, { result: 'throttled' });
        result.observe(failed, { result: 'failed' });
      };
      this.armRequests.addCallback(this.observeArm);
    }
    this.armReadsRemaining = meter.createObservableGauge(METRICS.armReadsRemaining, { description: "ARM's remaining reads per subscription, from the x-ms-ratelimit-remaining-* headers of its latest answers" });
    const budget = options.armBudget;
    if (budget) {
      this.observeBudget = (result) => {
        for (const s of budget.snapshot()) result.observe(s.latestRemaining, { subscription: s.subscriptionId });
      };
      this.armReadsRemaining.addCallback(this.observeBudget);
    }
  }

  /** A hint's reconcile came back (or was acknowledged before its run ended: `queued`). */
  hintDone(trigger: Trigger, hint: ReconcileHint, result: HintResult): void {
    if (result.kind === 'no-scale-set') return;
    const eventTimeMs = Date.parse(hint.eventTime);
    if (result.kind === 'queued') {
      if (!Number.isNaN(eventTimeMs)) this.remember(result.ref.id, { trigger, eventTimeMs, since: this.now() });
      return;
    }
    this.report(result.result, trigger);
    if (!Number.isNaN(eventTimeMs)) this.latency(trigger, eventTimeMs, result.result);
  }

  /** A hint's reconcile threw (the trigger is retried, or the error is permanent). */
  hintFailed(trigger: Trigger): void {
    this.reconciles.add(1, { outcome: FAILED_OUTCOME, trigger });
  }

  /** How a run that hints were acknowledged for without waiting ended (once per run). */
  queuedDone(outcome: QueuedOutcome): void {
    const waiting = this.pending.get(outcome.scaleSetId) ?? [];
    this.pending.delete(outcome.scaleSetId);
    const trigger = waiting[0]?.trigger ?? 'event';
    if (!outcome.ok) {
      this.reconciles.add(1, { outcome: FAILED_OUTCOME, trigger });
      return;
    }
    this.report(outcome.report, trigger);
    for (const hint of waiting) this.latency(hint.trigger, hint.eventTimeMs, outcome.report);
  }

  /** The timer's sweep: every scale set's run, and the ones that threw. */
  sweepDone(run: Pick<SweepReport, 'reports' | 'failures'>): void {
    for (const report of run.reports) this.report(report, 'sweep');
    if (run.failures.length > 0) this.reconciles.add(run.failures.length, { outcome: FAILED_OUTCOME, trigger: 'sweep' });
  }

  /** An event or notification that led to no reconcile (IGNORE_REASONS code, or `malformed`). */
  ignored(trigger: Exclude<Trigger, 'sweep'>, reason: string): void {
    this.ignoredEvents.add(1, { reason, trigger });
  }

  /** Stops observing (the runtime is closed); instruments already recorded stay with the provider. */
  close(): void {
    if (this.observeArm) this.armRequests.removeCallback(this.observeArm);
    if (this.observeBudget) this.armReadsRemaining.removeCallback(this.observeBudget);
    this.pending.clear();
  }

  /** `reportedBy`: the trigger of whoever got the report, used only when its source tells none. */
  private report(report: ReconcileReport, reportedBy: Trigger): void {
    if (this.counted.has(report)) return;
    this.counted.add(report);
    const trigger = triggerOfSource(report.source) ?? reportedBy;
    const attributes: Attributes = { outcome: report.outcome, trigger };
    this.reconciles.add(1, attributes);
    this.duration.record(Math.max(0, report.durationMs) / 1000, attributes);
    if (report.registered > 0) this.registrations.add(report.registered, { trigger });
    if (report.updated > 0) this.updates.add(report.updated, { trigger });
    if (report.deregistered > 0) this.deregistrations.add(report.deregistered, { trigger });
    const skipsByReason = new Map<string, number>();
    for (const entry of report.skipped) {
      const code = skipCode(entry);
      const reason = KNOWN_SKIP_CODES.has(code) ? code : 'other';
      skipsByReason.set(reason, (skipsByReason.get(reason) ?? 0) + 1);
    }
    for (const [reason, count] of skipsByReason) this.skips.add(count, { reason, trigger });
    for (const push of report.pushes) this.pushes.add(1, { result: push.ok ? 'ok' : 'failed' });
  }

  /** Only for runs whose push reached a relay: nothing else puts an event's change in front of clients. */
  private latency(trigger: Trigger, eventTimeMs: number, report: ReconcileReport): void {
    if (!report.pushes.some((p) => p.ok)) return;
    const doneAt = this.options.pushDoneAt?.(report.pushes) ?? this.now();
    // Event Grid's clock is not ours: a skewed event time must not make a negative duration.
    this.eventToPush.record(Math.max(0, doneAt - eventTimeMs) / 1000, { trigger });
  }

  private remember(scaleSetId: string, hint: PendingHint): void {
    const cutoff = hint.since - PENDING_FORGET_MS;
    const list = (this.pending.get(scaleSetId) ?? []).filter((h) => h.since >= cutoff);
    if (list.length < MAX_PENDING_PER_SCALE_SET) list.push(hint);
    this.pending.set(scaleSetId, list);
  }
}
