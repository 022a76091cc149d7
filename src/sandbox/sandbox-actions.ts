/**
 * What the sandbox does on request (the CLI's keys, the control server, tests): scale a scale set,
 * fail or heal an instance, make one fail half its calls, start a rollout, turn event chaos on/off.
 */
import type { ArmWorld } from './arm-emulator';
import type { InstanceBackends } from './backends-follow-arm';
import type { EventGridFeed } from './event-grid-feed';
import { imageOf, RolloutRefused } from './rollout';
import type { SandboxRollouts } from './rollout-runner';
import type { SandboxAction } from './sandbox-state';
import { selectorOf, type SandboxScaleSets } from './scale-set-specs';
import type { Timeline } from './timeline';

export interface SandboxActionParts {
  readonly arm: ArmWorld;
  readonly scaleSets: SandboxScaleSets;
  readonly backends: InstanceBackends;
  readonly feed: EventGridFeed;
  readonly rollouts: SandboxRollouts;
  readonly timeline: Timeline;
}

export type ActionAnswer = { ok: boolean; message: string };

export function runSandboxAction(parts: SandboxActionParts, action: SandboxAction): ActionAnswer {
  const { arm, scaleSets, backends, feed, rollouts, timeline } = parts;
  const specs = scaleSets.specs;
  switch (action.action) {
    case 'scale': {
      const spec = specs.find((s) => s.name === action.scaleSet);
      if (!spec) return { ok: false, message: `no scale set ${JSON.stringify(action.scaleSet)} (there are ${specs.map((s) => s.name).join(', ')})` };
      arm.scale(selectorOf(spec.name), action.capacity);
      return { ok: true, message: `scaling ${spec.name} to ${action.capacity}` };
    }
    case 'fail':
    case 'heal': {
      for (const spec of specs) {
        const instance = scaleSets.instancesIn(spec.name).find((i) => i.name === action.instance);
        if (!instance) continue;
        arm.setHealth(selectorOf(spec.name), instance.instanceId, action.action === 'fail' ? 'Unhealthy' : 'Healthy');
        const backend = backends.of(instance);
        backend?.setServing(action.action === 'fail' ? 'NOT_SERVING' : 'SERVING');
        if (action.action === 'heal') backend?.setFailEvery(0);
        timeline.note('sandbox', `${instance.name} ${action.action === 'fail' ? 'fails (application health Unhealthy)' : 'is healthy again'}`);
        return { ok: true, message: `${instance.name}: ${action.action}` };
      }
      return { ok: false, message: `no instance ${JSON.stringify(action.instance)}` };
    }
    case 'fail-half': {
      for (const spec of specs) {
        const instance = scaleSets.instancesIn(spec.name).find((i) => i.name === action.instance);
        if (!instance) continue;
        const backend = backends.of(instance);
        if (!backend) return { ok: false, message: `${instance.name} has no running backend yet (${instance.provisioningState})` };
        // Its health probe stays Healthy: the instance is in rotation and fails calls, the case retries are for.
        backend.setFailEvery(2);
        timeline.note('sandbox', `${instance.name} fails every other call with UNAVAILABLE (health still Healthy)`);
        return { ok: true, message: `${instance.name}: fails half its calls with UNAVAILABLE until heal` };
      }
      return { ok: false, message: `no instance ${JSON.stringify(action.instance)}` };
    }
    case 'rollout': {
      let plan;
      try {
        ({ plan } = rollouts.start(action));
      } catch (error) {
        if (error instanceof RolloutRefused) return { ok: false, message: error.message };
        throw error;
      }
      return { ok: true, message: `rollout ${rollouts.current()!.id} started: ${plan.from.name} → ${plan.to} (${imageOf(plan)}), steps ${plan.steps.join(', ')} %` };
    }
    case 'event-chaos':
      feed.chaos = action.enabled;
      timeline.note('sandbox', `event chaos ${feed.chaos ? 'on: duplicated and reordered deliveries' : 'off'}`);
      return { ok: true, message: `event chaos ${feed.chaos ? 'on' : 'off'}` };
  }
}
