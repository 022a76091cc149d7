/**
 * HTTP GET: what the mesh holds now (read from Consul; functions keep no state of their own), with
 * each scale set's last successful reconcile and staleness (twice the timer period), and the ARM read
 * budget this instance saw (shared/azure/arm-budget.ts).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { DEFAULT_PACING, budgetLevel, processArmReadBudget } from '../shared/azure/arm-budget';
import { errorMessage, isRetryable } from '../shared/errors';
import { schedulePeriodMs } from '../shared/schedule-period';
import { scaleSetRefFromId } from '../shared/resource-id';
import { withOperatorView } from '../shared/status-view';
import type { FunctionDefinition } from './definitions';
import { getAppRuntime } from './app-runtime-cache';
import { logLine } from './log-line';

export async function status(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const runtime = getAppRuntime();
    const now = Date.now();
    const view = withOperatorView(
      await runtime.status(),
      {
        timerPeriodMs: schedulePeriodMs(runtime.config.reconcileSchedule),
        inScope: (id) => {
          try {
            const ref = scaleSetRefFromId(id);
            return runtime.scopeMatcher.check(ref.subscriptionId, ref.resourceGroup) === undefined;
          } catch {
            return true; // not an ID we can read: judged, as before
          }
        },
        armReadBudget: { subscriptions: processArmReadBudget.snapshot(now), windowMs: processArmReadBudget.windowMs, levelOf: (r) => budgetLevel(r, DEFAULT_PACING) },
      },
      now,
    );
    return { status: 200, jsonBody: view };
  } catch (error) {
    context.error(logLine({ msg: `status failed: ${errorMessage(error)}`, event: 'status-failed' }));
    return { status: isRetryable(error) ? 503 : 500, jsonBody: { error: errorMessage(error) } };
  }
}

export const statusFunction: FunctionDefinition = {
  kind: 'http',
  name: 'status',
  options: { methods: ['GET'], authLevel: 'function', route: 'status', handler: status },
};
