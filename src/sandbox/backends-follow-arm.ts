/**
 * Backends follow ARM: one real HTTP + gRPC backend per simulated instance (keyed like ARM: scale
 * set + instance ID) on the instance's loopback address, up while the VM exists.
 */
import { errorMessage } from '../shared/errors';
import type { ArmWorld, EmulatedInstance, WorldChange } from './arm-emulator';
import { startDemoBackend, type DemoBackend } from './backends/demo-backend';
import { primaryIpOf } from './sandbox-state-builder';
import type { SandboxScaleSets } from './scale-set-specs';

const HTTP_PORT = 8080;

/** The key of an instance (and of its backend): scale set + instance ID, lower case. */
export function instanceKey(scaleSetId: string, instanceId: string): string {
  return `${scaleSetId}/${instanceId}`.toLowerCase();
}

export class InstanceBackends {
  private readonly backends = new Map<string, DemoBackend>();
  private readonly starting = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(
    private readonly scaleSets: SandboxScaleSets,
    private readonly log: (line: string) => void,
  ) {}

  /** True once close() has begun: no backend starts any more. */
  get closing(): boolean {
    return this.stopping;
  }

  /** Starts a backend when ARM creates an instance, stops it when ARM removes it. */
  follow(arm: ArmWorld): void {
    arm.on('change', (change: WorldChange) => {
      if (!('instanceId' in change)) return;
      if (change.kind === 'instance-removed') {
        const key = instanceKey(change.scaleSetId, change.instanceId);
        const backend = this.backends.get(key);
        this.backends.delete(key);
        void backend?.close();
        return;
      }
      const instance = this.scaleSets.instancesIn(change.scaleSetId).find((i) => i.instanceId === change.instanceId);
      if (change.kind === 'instance-created' && instance) void this.ensure(instance).catch((e) => this.log(`backend for ${instance.name}: ${errorMessage(e)}`));
    });
  }

  /** The running backend of an instance. */
  of(instance: EmulatedInstance): DemoBackend | undefined {
    return this.backends.get(instanceKey(instance.scaleSetId, instance.instanceId));
  }

  /** The running backend of the instance with this name. */
  named(instanceName: string): DemoBackend | undefined {
    return [...this.backends.values()].find((b) => b.instanceName === instanceName);
  }

  async close(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.starting]);
    await Promise.all([...this.backends.values()].map((b) => b.close()));
  }

  private async ensure(instance: EmulatedInstance): Promise<void> {
    const spec = this.scaleSets.specOf(instance.scaleSetId);
    const key = instanceKey(instance.scaleSetId, instance.instanceId);
    if (!spec || this.backends.has(key) || this.stopping) return;
    const pending = startDemoBackend({ instanceName: instance.name, address: primaryIpOf(instance), httpPort: HTTP_PORT, grpcPort: spec.port });
    this.starting.add(pending);
    try {
      const backend = await pending;
      // A start that finishes after close, or after its VM is gone, is stopped at once.
      if (this.stopping || !this.exists(key, instance.scaleSetId)) await backend.close();
      else this.backends.set(key, backend);
    } finally {
      this.starting.delete(pending);
    }
  }

  private exists(key: string, scaleSetId: string): boolean {
    return this.scaleSets.instancesIn(scaleSetId).some((i) => instanceKey(i.scaleSetId, i.instanceId) === key);
  }
}
