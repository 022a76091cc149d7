/**
 * What the chaos soak compares: ARM's truth (the emulator's world, in process), Consul's (the
 * double's snapshot, read without HTTP so Consul faults never blind the judge), the relay's
 * snapshots of both profiles, and what the Envoy-profile wire client received.
 */
import { clusterName } from '../../relay/resources/resource-names';
import type { ClientProfile } from '../../relay/xds/client-profile';
import { envoyType } from '../../relay/xds/envoy-protos';
import { AZURE_CHECK_ID, EXTERNAL_SOURCE, MAINTENANCE_CHECK_ID, NODE_META } from '../../shared/ownership';
import type { EmulatedInstance } from '../arm-emulator';
import type { WorldSnapshot } from '../consul-double';
import { SANDBOX_SCALE_SETS, selectorOf, type Sandbox } from '../sandbox';
import { primaryIpOf } from '../sandbox-state-builder';

export type Expected = 'passing' | 'critical' | 'draining';

/** What Consul (and the relay) should say about an instance, from ARM's view alone. */
export function expectedState(i: EmulatedInstance): Expected {
  if (i.provisioningState === 'Deleting') return 'draining';
  const healthy = i.health === null || i.health === 'Healthy';
  return i.provisioningState === 'Succeeded' && i.powerState === 'running' && healthy ? 'passing' : 'critical';
}

export interface ArmInstanceView {
  readonly service: string;
  readonly instance: EmulatedInstance;
  readonly ip: string;
}

export function armInstances(sandbox: Sandbox): ArmInstanceView[] {
  const arm = sandbox.world.arm.world;
  return SANDBOX_SCALE_SETS.flatMap((spec) => arm.listInstances(selectorOf(spec.name)).map((instance) => ({ service: spec.service, instance, ip: primaryIpOf(instance) })));
}

/** ARM lists the instance at `address` as running (it must stay registered): a description, else undefined. */
export function runningInstanceAt(sandbox: Sandbox, address: string): string | undefined {
  const found = armInstances(sandbox).find((v) => v.ip === address);
  if (!found) return undefined;
  const i = found.instance;
  const running = i.powerState === 'running' && (i.provisioningState === 'Succeeded' || i.provisioningState === 'Updating');
  return running ? `${i.name} ${i.provisioningState}/${i.powerState}/${i.health ?? 'no health'}` : undefined;
}

/** Consul's state per registered address (our nodes only). */
export function consulStates(snapshot: WorldSnapshot): Map<string, Expected | 'warning'> {
  const out = new Map<string, Expected | 'warning'>();
  for (const node of snapshot.nodes) {
    if (node.meta[NODE_META.externalSource] !== EXTERNAL_SOURCE) continue;
    const checks = snapshot.checks.filter((c) => c.node === node.node && c.serviceId === '');
    if (checks.some((c) => c.checkId === MAINTENANCE_CHECK_ID)) out.set(node.address, 'draining');
    else {
      const status = checks.find((c) => c.checkId === AZURE_CHECK_ID)?.status;
      out.set(node.address, status === 'passing' || status === 'warning' ? status : 'critical');
    }
  }
  return out;
}

const RELAY_HEALTH: Readonly<Record<string, Expected>> = { HEALTHY: 'passing', UNKNOWN: 'passing', DRAINING: 'draining', UNHEALTHY: 'critical' };
let claType: ReturnType<typeof envoyType> | undefined;

/** Endpoints (IP → health) of a ClusterLoadAssignment's bytes. */
export function decodeEndpoints(bytes: Uint8Array): Map<string, Expected | string> {
  claType ??= envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const decoded = claType.toObject(claType.decode(bytes), { enums: String }) as {
    endpoints?: Array<{ lb_endpoints?: Array<{ health_status?: string; endpoint?: { address?: { socket_address?: { address?: string } } } }> }>;
  };
  const out = new Map<string, Expected | string>();
  for (const locality of decoded.endpoints ?? []) {
    for (const lb of locality.lb_endpoints ?? []) {
      const ip = lb.endpoint?.address?.socket_address?.address;
      if (ip) out.set(ip, RELAY_HEALTH[lb.health_status ?? 'UNKNOWN'] ?? String(lb.health_status));
    }
  }
  return out;
}

/** Endpoints per service as some observer sees them (a relay snapshot, a wire client). */
export type EndpointView = (service: string) => ReadonlyMap<string, string> | undefined;

export function relayView(sandbox: Sandbox, profile: ClientProfile): EndpointView {
  const snapshot = sandbox.relay().snapshots.current(profile);
  return (service) => {
    const resource = snapshot.resources.endpoint.get(clusterName(service));
    return resource ? decodeEndpoints(resource.bytes) : undefined;
  };
}

/** Differences from ARM (empty = converged): Consul, then each endpoint view by name. */
export function differences(sandbox: Sandbox, consul: WorldSnapshot, views: Readonly<Record<string, EndpointView>>): string[] {
  const problems: string[] = [];
  const arm = armInstances(sandbox);
  const states = consulStates(consul);
  for (const { instance, ip } of arm) {
    const want = expectedState(instance);
    const got = states.get(ip) ?? 'absent';
    if (got !== want) problems.push(`Consul: ${instance.name} ARM says ${want}, Consul ${got}`);
    states.delete(ip);
  }
  for (const [ip, state] of states) problems.push(`Consul: still has ${ip} (${state}) that ARM does not list`);
  for (const [name, view] of Object.entries(views)) {
    for (const spec of SANDBOX_SCALE_SETS) {
      const endpoints = new Map(view(spec.service) ?? []);
      for (const { instance, ip } of arm.filter((a) => a.service === spec.service)) {
        const want = expectedState(instance);
        const got = endpoints.get(ip) ?? 'absent';
        if (got !== want) problems.push(`${name}: ${instance.name} ARM says ${want}, ${name} ${got}`);
        endpoints.delete(ip);
      }
      for (const [ip, health] of endpoints) problems.push(`${name}: ${spec.service} still has ${ip} (${health}) that ARM does not list`);
    }
  }
  return problems;
}
