/**
 * Azure's view of one instance, turned into the node-level check and the drain flag.
 *
 * | provisioning              | power     | health (extension)        | check    | draining |
 * | ------------------------- | --------- | ------------------------- | -------- | -------- |
 * | Succeeded or Updating     | running   | Healthy, or no extension  | passing  | no       |
 * | Deleting                  | running   | Healthy, or no extension  | passing  | yes      |
 * | anything                  | anything  | anything else             | critical | if Deleting |
 *
 * Decisions at the edges (each has a test):
 * - `Updating` counts as provisioned only while the VM is running: a rolling upgrade of a running
 *   VM keeps serving; one that stopped it does not.
 * - `Deleting` keeps the node registered but draining; its check still says what the rest of the
 *   state says, so a draining instance that also turned unhealthy is shown as critical.
 * - Health `Unknown` and `Initializing` are critical: the extension has not vouched for the app
 *   yet (Unknown is also what Azure reports when the probe cannot be reached), and routing to an
 *   instance nobody vouches for is worse than waiting one reconcile. No extension at all means the
 *   scale set opted out of app health, so power + provisioning decide alone.
 * - States are compared case-insensitively (ARM is not consistent about `PowerState/Running`).
 *   A missing power state (`unknown`) is critical.
 * - `warning` is never produced: Azure's view is binary; warning stays free for future probes.
 */
import type { AzureCheckStatus, Instance } from '../model';

export interface AzureView {
  readonly status: AzureCheckStatus;
  /** Short human line, e.g. `provisioning=Succeeded power=running health=Healthy`. */
  readonly output: string;
  readonly draining: boolean;
}

export type InstanceState = Pick<Instance, 'provisioningState' | 'powerState' | 'healthState'>;

export function azureViewOf(state: InstanceState): AzureView {
  const provisioning = state.provisioningState.trim().toLowerCase();
  const power = state.powerState.trim().toLowerCase();
  const draining = provisioning === 'deleting';
  const provisioned = provisioning === 'succeeded' || provisioning === 'updating' || draining;
  const running = power === 'running';
  const healthy = state.healthState === undefined || state.healthState === 'Healthy';
  return {
    status: provisioned && running && healthy ? 'passing' : 'critical',
    output: azureCheckOutput(state),
    draining,
  };
}

export function azureCheckOutput(state: InstanceState): string {
  const show = (value: string | undefined, missing: string): string => (value && value.trim() ? value.trim() : missing);
  return `provisioning=${show(state.provisioningState, 'unknown')} power=${show(state.powerState, 'unknown')} health=${show(state.healthState, 'none')}`;
}
