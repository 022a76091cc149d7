import type { Env } from '../shared/config';
import type { FunctionDefinition } from './definitions';
import { autoscaleWebhookFunction } from './autoscaleWebhook';
import { defaultReconcileSchedule, reconcileTimerFunction } from './reconcileTimer';
import { statusFunction } from './status';
import { vmssEventsFunction } from './vmssEvents';

/** Every function of the app. Only the timer's schedule is read here; everything else at first use. */
export function allFunctions(env: Env): FunctionDefinition[] {
  const schedule = env.VMSS_MESH_RECONCILE_SCHEDULE?.trim() || defaultReconcileSchedule();
  return [vmssEventsFunction, autoscaleWebhookFunction, reconcileTimerFunction(schedule), statusFunction];
}
