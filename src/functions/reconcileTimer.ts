/**
 * Timer: the full sweep. Reconciles every mesh scale set in scope, and every scale set we still
 * hold entries for, cleans up our expired KV keys, then logs one summary line with the counts.
 * Fails (so the runtime retries and monitoring sees it) only when a scale set failed for a reason
 * that may pass; a failed KV cleanup is logged as a warning and left to the next sweep.
 */
import type { ExponentialBackoffRetryOptions, InvocationContext, Timer, TimerFunctionOptions } from '@azure/functions';
import type { PacingChange } from '../shared/reconcile/reconcile-run';
import { scheduleGapsMs } from '../shared/schedule-period';
import type { FunctionDefinition } from './definitions';
import { getAppRuntime } from './app-runtime-cache';
import { logLine } from './log-line';
import { SWEEP_SOURCE } from './telemetry/metric-names';

export async function reconcileTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const runtime = getAppRuntime();
  const run = await runtime.reconciler.reconcileAll(`${SWEEP_SOURCE}${timer.isPastDue ? ' (past due)' : ''}`, {
    onReport: (r) =>
      'outcome' in r
        ? context.debug(logLine({ msg: `${r.scaleSetId}: ${r.outcome}`, event: 'reconcile', ...r, armReadings: undefined }))
        : context.error(logLine({ msg: `${r.scaleSetId}: ${r.error}`, event: 'reconcile-failed', ...r })),
    // Each slow-down (and the return to full speed) as it happens, not only in the summary line.
    onPacing: (change) => {
      const line = pacingLogLine(change);
      if (line) context.warn(line);
    },
  });
  runtime.telemetry.metrics.sweepDone(run);
  const outcomes: Record<string, number> = {};
  for (const r of run.reports) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  const { kvCleanup } = run;
  if (!kvCleanup.ok) context.warn(logLine({ msg: kvCleanup.error, event: 'kv-cleanup-failed' }));
  const cleanupText = kvCleanup.ok ? `KV cleanup -${kvCleanup.tombstonesRemoved} tombstones -${kvCleanup.markersRemoved} markers` : 'KV cleanup failed';
  context.info(logLine({
    msg: `swept ${run.totals.scaleSets + run.failures.length} scale sets: +${run.totals.registered} ~${run.totals.updated} -${run.totals.deregistered}, ${run.totals.instances} instances, ${run.totals.armCalls} ARM calls, ${run.failures.length} failed; ${cleanupText}; ${run.totals.armBudgetNote}`,
    event: 'sweep',
    ...run.totals,
    outcomes,
    failures: run.failures,
    skippedScaleSets: run.skippedScaleSets,
    kvCleanup,
  }));
  // Fail the run (so monitoring sees it and the runtime retries) when retrying can help: a
  // transient failure, or a wrong setting the operator will fix.
  const worthRetrying = run.failures.filter((f) => f.retryTrigger);
  if (worthRetrying.length > 0) {
    throw new AggregateError(worthRetrying.map((f) => new Error(`${f.scaleSetId}: ${f.error}`)), `${worthRetrying.length} scale set(s) failed`);
  }
}

/**
 * The retry policy of a failed sweep: exponential from 10 s, 3 retries (10 s, 20 s, 40 s), all
 * within the same run, so the host holds the timer's singleton lock meanwhile and skips the ticks
 * that fall in it. With the default schedule (every 5 minutes) that is 70 s of a 300 s period. A
 * schedule that runs more often gets a policy whose retries end within one period: a retry that
 * would come after the next tick only delays the sweep that tick would have run (every 10 s, the
 * 10-20-40 s policy held the lock for 70 s, skipping 7 ticks). The first delay is an eighth of
 * the shortest gap between ticks (whole seconds, as the programming model sends durations; at
 * least 1 s, at most 10 s), with as many retries (at most 3) as fit in that gap.
 */
export function sweepRetryPolicy(schedule: string): ExponentialBackoffRetryOptions {
  const period = shortestTickGapSeconds(schedule);
  const first = period === undefined ? 10 : Math.min(10, Math.max(1, Math.floor(period / 8)));
  let retries = 3;
  while (period !== undefined && retries > 1 && first * (2 ** retries - 1) > period) retries -= 1;
  return { strategy: 'exponentialBackoff', maxRetryCount: retries, minimumInterval: { seconds: first }, maximumInterval: { minutes: 2 } };
}

/**
 * The shortest gap in seconds between two ticks of an NCRONTAB schedule (second minute hour day
 * month weekday), as src/shared/schedule-period.ts reads it, or undefined when it cannot be read.
 */
export function shortestTickGapSeconds(schedule: string): number | undefined {
  const gaps = scheduleGapsMs(schedule);
  return gaps === undefined ? undefined : Math.floor(gaps.shortest / 1000);
}

/** The log line of a change of the sweep's pace; none for the usual start at full speed. */
export function pacingLogLine(change: PacingChange): string | undefined {
  if (change.level === 'normal' && change.afterUnits === 0) return undefined;
  const reading = change.remaining === undefined ? 'no header yet' : `${change.remaining} reads left (${change.source ?? 'ARM'})`;
  return logLine({ msg: `ARM read budget ${change.level}, ${reading}: ${change.concurrency} scale set(s) at a time, ${change.spreadMs} ms apart`, event: 'sweep-pacing', ...change });
}

/** The schedule is read when the app registers its functions (an app setting, like %NAME% would be). */
export function reconcileTimerFunction(schedule: string): FunctionDefinition {
  return {
    kind: 'timer',
    name: 'reconcileTimer',
    options: {
      schedule,
      runOnStartup: false,
      useMonitor: true,
      retry: sweepRetryPolicy(schedule),
      handler: reconcileTimer,
    } satisfies TimerFunctionOptions,
  };
}

/**
 * SETTINGS' default schedule, for an app without the setting (Terraform always sets it). Required
 * only then: src/shared/config.ts also holds the settings' zod schemas, which registering the
 * functions does not need (see getAppRuntime).
 */
export function defaultReconcileSchedule(): string {
  return (require('../shared/config') as typeof import('../shared/config')).SETTINGS.VMSS_MESH_RECONCILE_SCHEDULE.default;
}
