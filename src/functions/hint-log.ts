/**
 * What the handlers log about a reconcile: the one summary line per hint, and the line of a failed
 * reconcile, which also decides whether the trigger is retried.
 */
import type { InvocationContext } from '@azure/functions';
import { errorMessage, shouldRetryTrigger } from '../shared/errors';
import type { ReconcileHint } from '../shared/model';
import type { HintResult } from '../shared/reconcile/reconciler';
import { logLine } from './log-line';

/**
 * Logs a failed reconcile; rethrows it when retrying may help (→ Event Grid / runtime retry).
 * A ConfigError (ACL token refused, ARM role missing, TLS trust, …) is rethrown too: nothing is
 * wrong with the event, and Event Grid keeps it until the operator fixes the setting.
 */
export function failUnlessPermanent(context: InvocationContext, error: unknown, extra: Record<string, unknown>): void {
  const retryable = shouldRetryTrigger(error);
  context.error(logLine({ msg: `reconcile failed (${retryable ? 'will be retried' : 'not retried'}): ${errorMessage(error)}`, event: 'reconcile-failed', retryable, ...extra }));
  if (retryable) throw error;
}

/** The one summary line per hint. */
export function hintSummary(hint: ReconcileHint, result: HintResult): Record<string, unknown> {
  if (result.kind === 'no-scale-set') {
    return { msg: `${hint.eventId}: VM ${result.vmResourceId} belongs to no scale set (or is gone)`, event: 'reconcile', eventId: hint.eventId, outcome: 'no-scale-set' };
  }
  if (result.kind === 'queued') {
    return {
      msg: `${hint.eventId}: ${result.ref.id}: reconcile queued, acknowledged after ${result.waitedMs} ms (the deadline; the run finishes on its own, the timer sweep catches up if it fails)`,
      event: 'reconcile',
      eventId: hint.eventId,
      reason: hint.reason,
      scaleSetId: result.ref.id,
      outcome: 'queued',
      waitedMs: result.waitedMs,
      busySince: new Date(result.busySince).toISOString(),
    };
  }
  const r = result.result;
  const failedPushes = r.pushes.filter((p) => !p.ok);
  return {
    msg: `${r.scaleSetId}: ${r.outcome} +${r.registered} ~${r.updated} -${r.deregistered} (${result.via}, ${r.armCalls} ARM calls, ${r.durationMs} ms)`,
    event: 'reconcile',
    eventId: hint.eventId,
    reason: hint.reason,
    scaleSetId: r.scaleSetId,
    outcome: r.outcome,
    via: result.via,
    registered: r.registered,
    updated: r.updated,
    deregistered: r.deregistered,
    instances: r.instances,
    skipped: r.skipped.length > 0 ? r.skipped : undefined,
    armCalls: r.armCalls,
    committedIndex: r.committedIndex,
    changedServices: r.changedServices,
    failedPushes: failedPushes.length > 0 ? failedPushes : undefined,
    detail: r.detail,
  };
}
