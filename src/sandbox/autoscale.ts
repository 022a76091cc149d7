/**
 * Azure Monitor autoscale, simulated: each scale set's CPU figure comes from the traffic its
 * instances serve (requests per second per instance against a per-instance capacity). The rule
 * is the one the infra module deploys: scale out by 1 above 75 % average CPU, in by 1 below 25 %,
 * within [min, max], with a cooldown. A scale action changes capacity through ARM (so Event Grid
 * sees the write) and posts the autoscale webhook, as Azure Monitor does.
 */
export interface AutoscaleRule {
  readonly min: number;
  readonly max: number;
  readonly scaleOutAbovePercent: number;
  readonly scaleInBelowPercent: number;
  readonly cooldownMs: number;
}

export const DEFAULT_AUTOSCALE_RULE: AutoscaleRule = { min: 1, max: 10, scaleOutAbovePercent: 75, scaleInBelowPercent: 25, cooldownMs: 30_000 };

export interface AutoscaleInput {
  readonly capacity: number;
  /** Requests per second the scale set's instances served over the evaluation window. */
  readonly requestsPerSecond: number;
  /** Requests per second one instance can serve at 100 % CPU. */
  readonly instanceCapacityRps: number;
  readonly lastActionAt: number;
  readonly now: number;
}

export type AutoscaleDecision = { readonly cpuPercent: number } & ({ readonly action: 'none'; readonly why: string } | { readonly action: 'scale'; readonly newCapacity: number; readonly why: string });

/** Pure: what the rule decides for one scale set now. */
export function decideAutoscale(rule: AutoscaleRule, input: AutoscaleInput): AutoscaleDecision {
  const active = Math.max(1, input.capacity);
  const cpuPercent = Math.min(100, Math.round((input.requestsPerSecond / active / input.instanceCapacityRps) * 100));
  if (input.now - input.lastActionAt < rule.cooldownMs) return { cpuPercent, action: 'none', why: 'cooldown' };
  // Outside the limits (someone scaled by hand): back to the nearest limit, as Azure autoscale does.
  if (input.capacity > rule.max) return { cpuPercent, action: 'scale', newCapacity: rule.max, why: `capacity ${input.capacity} above the maximum ${rule.max}` };
  if (input.capacity < rule.min) return { cpuPercent, action: 'scale', newCapacity: rule.min, why: `capacity ${input.capacity} below the minimum ${rule.min}` };
  if (cpuPercent > rule.scaleOutAbovePercent && input.capacity < rule.max) {
    return { cpuPercent, action: 'scale', newCapacity: input.capacity + 1, why: `CPU ${cpuPercent} % > ${rule.scaleOutAbovePercent} %` };
  }
  if (cpuPercent < rule.scaleInBelowPercent && input.capacity > rule.min) {
    return { cpuPercent, action: 'scale', newCapacity: input.capacity - 1, why: `CPU ${cpuPercent} % < ${rule.scaleInBelowPercent} %` };
  }
  return { cpuPercent, action: 'none', why: `CPU ${cpuPercent} % within ${rule.scaleInBelowPercent}–${rule.scaleOutAbovePercent} %` };
}
