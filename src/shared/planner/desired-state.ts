/**
 * ARM's instances → the Consul registrations we want: one external node per instance, one service
 * instance per mesh service of the scale set, one node-level check carrying Azure's view.
 * Pure and deterministic: the same scale set and instances (in any order) give the same result.
 * Each service's meta carries the scale set's traffic tags (weight, retries, timeouts: traffic.ts).
 */
import type { DesiredNode, DesiredService, Instance, MeshScaleSet, MeshServiceSpec, PlanSkip } from '../model';
import { NODE_META, OWNED_NODE_META, SERVICE_META, SERVICE_TAG, nodeNameFor } from '../ownership';
import { trafficMeta } from '../traffic';
import { azureViewOf } from './azure-check';
import { sortedSkips } from './order';
import { SKIP, WHOLE_SCALE_SET, skip } from './skip-reasons';
import { compareStrings } from '../compare-strings';

export interface DesiredState {
  /** Sorted by node name. */
  readonly nodes: DesiredNode[];
  /** Instances we cannot turn into a node, with the reason (the planner keeps their nodes as they are). */
  readonly skipped: PlanSkip[];
}

export function desiredNodes(scaleSet: MeshScaleSet, instances: readonly Instance[]): DesiredState {
  const services = uniqueServices(scaleSet.services);
  if (services.length === 0) {
    return { nodes: [], skipped: [skip(WHOLE_SCALE_SET, SKIP.noMeshServices, `scale set ${scaleSet.ref.id} names no mesh service`)] };
  }
  const byName = new Map<string, Instance[]>();
  for (const instance of instances) {
    const node = nodeNameOf(instance);
    byName.set(node, [...(byName.get(node) ?? []), instance]);
  }
  const nodes: DesiredNode[] = [];
  const skipped: PlanSkip[] = [];
  for (const [node, [instance, ...repeats]] of byName) {
    if (!instance) continue;
    // Pages of a listing can overlap; identical repeats are harmless. Repeats that disagree mean the
    // listing is inconsistent: picking one would depend on input order, so we decide nothing for it.
    if (!repeats.every((other) => sameInstance(instance, other))) {
      skipped.push(skip(node, SKIP.conflictingListing, `the listing holds ${repeats.length + 1} differing entries for instance ${instance.resourceId.toLowerCase()}`));
      continue;
    }
    const address = instance.privateIps[0]?.trim();
    if (!address) {
      skipped.push(skip(node, SKIP.noPrivateIp, `instance ${instance.name} has no private IP address`));
      continue;
    }
    nodes.push(desiredNodeFor(scaleSet.ref.id, services, instance, address));
  }
  nodes.sort((a, b) => compareStrings(a.node, b.node));
  return { nodes, skipped: sortedSkips(skipped) };
}

/** The Consul node name an instance maps to (whether or not it can be registered). */
export function nodeNameOf(instance: Pick<Instance, 'name' | 'resourceId'>): string {
  return nodeNameFor(instance.name, instance.resourceId);
}

function desiredNodeFor(scaleSetId: string, services: readonly MeshServiceSpec[], instance: Instance, address: string): DesiredNode {
  const view = azureViewOf(instance);
  const instanceResourceId = instance.resourceId.toLowerCase();
  const normalisedScaleSetId = scaleSetId.toLowerCase();
  const zone = instance.zone?.trim() || undefined;
  const nodeMeta: Record<string, string> = {
    ...OWNED_NODE_META,
    [NODE_META.scaleSetId]: normalisedScaleSetId,
    [NODE_META.instanceId]: instanceResourceId,
  };
  // Absent rather than empty: "no zone" (regional scale set) is not a zone called "".
  if (zone) nodeMeta[NODE_META.zone] = zone;
  return {
    node: nodeNameOf(instance),
    address,
    nodeMeta,
    services: services.map((spec) => desiredService(spec, normalisedScaleSetId, instanceResourceId, instance.name, zone)),
    azureCheck: { status: view.status, output: view.output },
    draining: view.draining,
    instanceResourceId,
  };
}

function desiredService(spec: MeshServiceSpec, scaleSetId: string, instanceResourceId: string, instanceName: string, zone: string | undefined): DesiredService {
  const meta: Record<string, string> = {
    [SERVICE_META.scaleSetId]: scaleSetId,
    [SERVICE_META.instanceId]: instanceResourceId,
    [SERVICE_META.instanceName]: instanceName,
    [SERVICE_META.protocol]: spec.protocol,
  };
  if (zone) meta[SERVICE_META.zone] = zone;
  if (spec.healthPath) meta[SERVICE_META.healthPath] = spec.healthPath;
  // The scale set's weight and the service's retries/timeouts ride on every registration, so a
  // tag change is an ordinary meta update that reaches the relays like a scale-out does.
  Object.assign(meta, trafficMeta({ ...(spec.weight !== undefined ? { weight: spec.weight } : {}), ...(spec.policy ? { policy: spec.policy } : {}) }));
  return {
    // One node per instance, so the service name alone is unique on the node and stable across runs.
    id: spec.name,
    name: spec.name,
    port: spec.port,
    tags: [SERVICE_TAG, spec.protocol],
    meta,
  };
}

/** Service IDs must be unique per node; the tag parser should already reject repeats, the first one wins here. */
function uniqueServices(services: readonly MeshServiceSpec[]): MeshServiceSpec[] {
  const seen = new Set<string>();
  return services.filter((s) => !seen.has(s.name) && seen.add(s.name));
}

function sameInstance(a: Instance, b: Instance): boolean {
  return (
    a.name === b.name &&
    a.instanceId === b.instanceId &&
    a.resourceId.toLowerCase() === b.resourceId.toLowerCase() &&
    a.privateIps.length === b.privateIps.length &&
    a.privateIps.every((ip, i) => ip === b.privateIps[i]) &&
    a.zone === b.zone &&
    a.faultDomain === b.faultDomain &&
    a.provisioningState === b.provisioningState &&
    a.powerState === b.powerState &&
    a.healthState === b.healthState
  );
}
