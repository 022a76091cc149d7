/**
 * Azure Monitor autoscale, simulated from the traffic each scale set serves: every interval, each
 * scale set's rule is evaluated; a scale-out or -in sets its capacity in ARM and posts the
 * autoscale notification to the Functions app's webhook, as Azure Monitor would.
 */
import { errorMessage } from '../shared/errors';
import type { ArmWorld } from './arm-emulator';
import { decideAutoscale, DEFAULT_AUTOSCALE_RULE } from './autoscale';
import { autoscaleNotification, autoscaleRequest, postWebhook } from './event-grid';
import { selectorOf, type SandboxScaleSets } from './scale-set-specs';
import type { Timeline } from './timeline';
import type { XdsTraffic } from './traffic/xds-traffic';

export interface AutoscaleLoopOptions {
  readonly intervalMs: number;
  readonly arm: ArmWorld;
  readonly scaleSets: SandboxScaleSets;
  readonly traffic: ReadonlyMap<string, XdsTraffic>;
  /** The Functions host whose webhook is told. */
  readonly hostUrl: string;
  readonly timeline: Timeline;
  readonly windowMs: number;
  /** When the traffic started: the window never reaches back before it. */
  readonly started: number;
  readonly log: (line: string) => void;
}

/** Starts the loop; returns how to stop it. */
export function startAutoscaleLoop(options: AutoscaleLoopOptions): () => void {
  const { arm, scaleSets, traffic, timeline, windowMs, started } = options;
  const lastAction = new Map<string, number>();
  const evaluate = async () => {
    for (const spec of scaleSets.specs) {
      const set = arm.getScaleSet(selectorOf(spec.name));
      const client = traffic.get(spec.service);
      if (!set || !client) continue;
      const windowStart = Math.max(started, Date.now() - windowMs);
      const seconds = Math.max(1, (Date.now() - windowStart) / 1000);
      const decision = decideAutoscale(DEFAULT_AUTOSCALE_RULE, {
        capacity: set.capacity,
        requestsPerSecond: client.shares(windowStart).calls / seconds,
        instanceCapacityRps: 30,
        lastActionAt: lastAction.get(spec.name) ?? 0,
        now: Date.now(),
      });
      if (decision.action !== 'scale') continue;
      lastAction.set(spec.name, Date.now());
      timeline.note('sandbox', `autoscale ${spec.name}: ${decision.why} → capacity ${set.capacity} → ${decision.newCapacity}`);
      arm.scale(selectorOf(spec.name), decision.newCapacity);
      const body = autoscaleNotification({ resourceId: set.id, oldCapacity: set.capacity, newCapacity: decision.newCapacity, timestamp: new Date().toISOString(), settingName: `${spec.name}-autoscale` });
      const response = await postWebhook(options.hostUrl, autoscaleRequest(body));
      timeline.note('event-delivered', `autoscale webhook → ${response.status}`);
    }
  };
  const timer = setInterval(() => void evaluate().catch((e) => options.log(`autoscale: ${errorMessage(e)}`)), options.intervalMs);
  return () => clearInterval(timer);
}
