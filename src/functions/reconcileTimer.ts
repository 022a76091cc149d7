/**
 * Timer: the full sweep. Reconciles every mesh scale set in scope, and every scale set we still
 * hold entries for, cleans up our expired KV keys, then logs one summary line with the counts.
 * Fails (so the runtime retries and monitoring sees it) only when a scale set failed for a reason
 * that may pass; a failed KV cleanup is logged as a warning and left to the next sweep.
 */
import type { InvocationContext, Timer, TimerFunctionOptions } from '@azure/functions';
import type { FunctionDefinition } from './definitions';
import { getAppRuntime } from './runtime';
import { logLine } from './log-line';

export async function reconcileTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const runtime = getAppRuntime();
  const run = await runtime.reconciler.reconcileAll(`timer${timer.isPastDue ? ' (past due)' : ''}`, {
    onReport: (r) =>
      'outcome' in r
        ? context.debug(logLine({ msg: `${r.scaleSetId}: ${r.outcome}`, event: 'reconcile', ...r }))
        : context.error(logLine({ msg: `${r.scaleSetId}: ${r.error}`, event: 'reconcile-failed', ...r })),
  });
  const outcomes: Record<string, number> = {};
  for (const r of run.reports) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  const { kvCleanup } = run;
  if (!kvCleanup.ok) context.warn(logLine({ msg: kvCleanup.error, event: 'kv-cleanup-failed' }));
  const cleanupText = kvCleanup.ok ? `KV cleanup -${kvCleanup.tombstonesRemoved} tombstones -${kvCleanup.markersRemoved} markers` : 'KV cleanup failed';
  context.info(logLine({
    msg: `swept ${run.totals.scaleSets + run.failures.length} scale sets: +${run.totals.registered} ~${run.totals.updated} -${run.totals.deregistered}, ${run.totals.instances} instances, ${run.totals.armCalls} ARM calls, ${run.failures.length} failed; ${cleanupText}`,
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

/** The schedule is read when the app registers its functions (an app setting, like %NAME% would be). */
export function reconcileTimerFunction(schedule: string): FunctionDefinition {
  return {
    kind: 'timer',
    name: 'reconcileTimer',
    options: {
      schedule,
      runOnStartup: false,
      useMonitor: true,
      retry: { strategy: 'exponentialBackoff', maxRetryCount: 3, minimumInterval: { seconds: 10 }, maximumInterval: { minutes: 2 } },
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
