/**
 * The scale sets a sandbox runs: its two own (both serve gRPC; the data plane here is a proxyless
 * client), plus any a rollout creates, and how to find them and their instances in the ARM world.
 */
import type { ArmWorld } from './arm-emulator';
import { SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from './local-world';

export interface SandboxScaleSetSpec {
  readonly name: string;
  readonly mode: 'Uniform' | 'Flexible';
  readonly service: string;
  readonly port: number;
  readonly zones: readonly string[];
}

/** The two scale sets every sandbox has. Both serve gRPC (the data plane here is a proxyless client). */
export const SANDBOX_SCALE_SETS: readonly SandboxScaleSetSpec[] = [
  { name: 'orders', mode: 'Uniform', service: 'orders', port: 9090, zones: ['1', '2', '3'] },
  { name: 'catalog', mode: 'Flexible', service: 'catalog', port: 9091, zones: ['1', '2'] },
];

/** The ARM world's selector of a sandbox scale set, from its name or resource ID. */
export function selectorOf(scaleSetIdOrName: string) {
  return { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: scaleSetIdOrName.split('/').pop()! };
}

/** Creates the sandbox's resource group and its scale sets in ARM, each scaled to `capacity`. */
export function createSandboxScaleSets(arm: ArmWorld, capacity: number): void {
  arm.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  for (const spec of SANDBOX_SCALE_SETS) {
    arm.createScaleSet({
      subscriptionId: SANDBOX_SUBSCRIPTION,
      resourceGroup: SANDBOX_RESOURCE_GROUP,
      name: spec.name,
      orchestrationMode: spec.mode,
      zones: spec.zones,
      capacity: 0,
      tags: { 'vmss-mesh-service': spec.service, 'vmss-mesh-port': String(spec.port), 'vmss-mesh-protocol': 'grpc' },
    });
    arm.scale(selectorOf(spec.name), capacity);
  }
}

/** The scale sets the sandbox runs backends for, in ARM. */
export class SandboxScaleSets {
  readonly specs: SandboxScaleSetSpec[] = [...SANDBOX_SCALE_SETS];

  constructor(private readonly arm: ArmWorld) {}

  add(spec: SandboxScaleSetSpec): void {
    this.specs.push(spec);
  }

  remove(name: string): void {
    this.specs.splice(0, this.specs.length, ...this.specs.filter((s) => s.name !== name));
  }

  /** The spec of a scale set, from its resource ID. */
  specOf(scaleSetId: string): SandboxScaleSetSpec | undefined {
    return this.specs.find((s) => scaleSetId.toLowerCase().endsWith(`/${s.name}`));
  }

  /** A scale set's instances; none once it is gone (a rollout deletes the old scale set). */
  instancesIn(scaleSetIdOrName: string) {
    return this.arm.getScaleSet(selectorOf(scaleSetIdOrName)) ? this.arm.listInstances(selectorOf(scaleSetIdOrName)) : [];
  }
}
