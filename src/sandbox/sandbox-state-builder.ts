/**
 * Assembles the sandbox's `SandboxState` from what each part knows (pure): ARM's instances,
 * Consul's owned nodes, the traffic each instance served, the relay's clients.
 */
import type { ClientStatus } from '../relay/ads/ads-hooks';
import type { OwnedNode } from '../shared/model';
import { NODE_META } from '../shared/ownership';
import type { EmulatedInstance, EmulatedScaleSet } from './arm-emulator';
import type { ConsulCheckState, SandboxRollout, SandboxState, TimelineEntry } from './sandbox-state';

export interface ScaleSetView {
  readonly spec: { readonly name: string; readonly mode: 'Uniform' | 'Flexible'; readonly service: string; readonly port: number };
  readonly set: EmulatedScaleSet | undefined;
  readonly instances: readonly EmulatedInstance[];
}

export interface StateInputs {
  readonly endpoints: SandboxState['endpoints'];
  readonly scaleSets: readonly ScaleSetView[];
  readonly owned: readonly OwnedNode[];
  /** Calls each instance served in the window. */
  readonly servedBy: ReadonlyMap<string, number>;
  readonly traffic: SandboxState['traffic'];
  readonly clients: readonly ClientStatus[];
  readonly eventChaos: boolean;
  readonly timeline: readonly TimelineEntry[];
  readonly now: number;
  /** The running or last rollout, if any. */
  readonly rollout?: SandboxRollout | undefined;
}

/** The primary NIC's primary private IP. */
export function primaryIpOf(instance: EmulatedInstance): string {
  return instance.nics.find((n) => n.primary)?.ipConfigurations.find((c) => c.primary)?.privateIp ?? '';
}

export function assembleSandboxState(input: StateInputs): SandboxState {
  const byIp = new Map<string, OwnedNode>(input.owned.map((n) => [n.address, n]));
  return {
    generatedAt: new Date(input.now).toISOString(),
    endpoints: input.endpoints,
    scaleSets: input.scaleSets.map(({ spec, set, instances }) => {
      const total = instances.reduce((sum, i) => sum + (input.servedBy.get(i.name) ?? 0), 0);
      return {
        id: set?.id ?? spec.name,
        name: spec.name,
        orchestrationMode: spec.mode,
        capacity: set?.capacity ?? 0,
        service: spec.service,
        port: spec.port,
        protocol: 'grpc',
        instances: instances.map((i) => {
          const node = byIp.get(primaryIpOf(i));
          const consul: ConsulCheckState = !node ? 'absent' : node.draining ? 'draining' : node.azureCheck.status;
          const served = input.servedBy.get(i.name) ?? 0;
          return {
            name: i.name,
            instanceId: i.instanceId,
            privateIp: primaryIpOf(i),
            zone: i.zone ?? node?.nodeMeta[NODE_META.zone] ?? '',
            provisioningState: i.provisioningState,
            powerState: i.powerState,
            health: i.health,
            consul,
            trafficShare: total > 0 ? served / total : 0,
            served,
          };
        }),
      };
    }),
    relayClients: input.clients.map((c) => ({
      nodeId: c.nodeId,
      profile: c.profile,
      lastSentVersion: { ...c.lastSentVersion },
      lastAckedVersion: { ...c.lastAckedVersion },
      ...(c.lastNack ? { lastNack: `${c.lastNack.kind}: ${c.lastNack.error}` } : {}),
    })),
    traffic: input.traffic,
    eventChaos: input.eventChaos,
    timeline: [...input.timeline],
    ...(input.rollout ? { rollout: input.rollout } : {}),
  };
}
