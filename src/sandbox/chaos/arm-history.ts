/**
 * What ARM has said about each instance (by resource ID, lower case as in our node meta) and since
 * when: live (running and healthy) since, or not live (failed, draining, gone) since. The Consul
 * observer judges a commit against it: a write against a state ARM has shown for a while is wrong,
 * one that raced an ARM change by milliseconds is not.
 */
import type { ArmInstanceState } from './consul-observer';
import { expectedState, type ArmInstanceView } from './world-view';

export class ArmHistory {
  private readonly byId = new Map<string, ArmInstanceState>();

  /** Takes ARM's current listing (call it on every ARM change, and before a judgement). */
  follow(instances: readonly ArmInstanceView[], now: number): void {
    const seen = new Set<string>();
    for (const { instance } of instances) {
      const id = instance.id.toLowerCase();
      seen.add(id);
      const live = expectedState(instance) === 'passing';
      const running = instance.powerState === 'running' && (instance.provisioningState === 'Succeeded' || instance.provisioningState === 'Updating');
      const before = this.byId.get(id);
      const since = before && before.live === live ? before.since : now;
      this.byId.set(id, { present: true, running, live, since, description: `${instance.name} ${instance.provisioningState}/${instance.powerState}/${instance.health ?? 'no health'}` });
    }
    for (const [id, before] of this.byId) {
      if (seen.has(id) || !before.present) continue;
      // Gone: not live since it stopped being live (a Deleting instance stopped before it went).
      this.byId.set(id, { present: false, running: false, live: false, since: before.live ? now : before.since, description: `${before.description.split(' ')[0]} gone from ARM` });
    }
  }

  /** ARM's state of an instance; one never listed counts as gone since ever. */
  state(instanceResourceId: string): ArmInstanceState {
    return this.byId.get(instanceResourceId.toLowerCase()) ?? { present: false, running: false, live: false, since: Number.NEGATIVE_INFINITY, description: `${instanceResourceId || '(no instance meta)'} never in ARM` };
  }
}
