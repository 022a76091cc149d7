/**
 * The endpoint sets a reconcile pushes to the relays, computed from what the run read after its
 * claim and what it committed, without reading Consul again (the relay's own watch has usually
 * fired before such a read returns, so the push would bring no speed). They are what
 * `endpoint-sets.ts` makes of Consul's `/v1/health/service/:name` answer once the commit is in:
 * the scale set's nodes are fenced, so nobody else changed them in between.
 *
 * Only a service whose whole endpoint set this run can vouch for is computed; the others are
 * returned by name for the caller to read: a service the read did not find on the scale set (its
 * first instances: the read cannot say whether other scale sets carry it), one other scale sets
 * carry too, one of ours
 * someone gave a service address, one on a node without our Azure check, one on a node this run
 * took back after a release, or one on a node whose operations Consul refused (its state is
 * whatever it was, which the read may not have shown in full).
 *
 * What the read cannot see: another scale set's first instances of a service this one already
 * carries, committed between this run's read and its commit. The push then lacks them until the
 * relay's watch answers for the service (it replaces the push); new endpoints arrive a moment
 * later, nothing in service is taken away.
 *
 * The index is that of the run's last transaction that changed the service, which is what Consul
 * reports for the service afterwards. A transaction of pure deletions reports no index of its own
 * (only its marker check's, the claim's), so the pushed index may then be lower than the service's:
 * the relay replaces the push with Consul's answer as soon as its watch reads the service, which
 * is the same set.
 */
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../endpoints';
import type { DesiredNode, DesiredService } from '../model';
import { NODE_META, SERVICE_META } from '../ownership';
import { DEFAULT_PROTOCOL, policyField, scaleSetFields } from './endpoint-sets';
import type { SeenBeyondOurs } from './owned-reader';
import type { HealthCheck } from './wire';
import { compareStrings } from '../compare-strings';

export interface PushedSetsInput {
  /** Our nodes of the scale set after the commit, by name. */
  readonly nodes: ReadonlyMap<string, DesiredNode>;
  readonly seen: SeenBeyondOurs;
  /** Nodes whose state this run cannot vouch for (refused operations, taken-back released nodes). */
  readonly unsure: ReadonlySet<string>;
  /** Per service, the index of the last transaction of this run that changed it. */
  readonly serviceIndexes: ReadonlyMap<string, number>;
}

export interface PushedSets {
  readonly sets: readonly ServiceEndpointSet[];
  /** Services the caller must read from Consul to push. */
  readonly toRead: readonly string[];
}

export function pushedSets(services: readonly string[], input: PushedSetsInput): PushedSets {
  const byService = new Map<string, Array<{ node: DesiredNode; service: DesiredService }>>();
  const unsure = new Set(input.seen.unvouchedServices);
  for (const node of input.nodes.values()) {
    for (const service of node.services) {
      byService.set(service.name, [...(byService.get(service.name) ?? []), { node, service }]);
      if (input.unsure.has(node.node)) unsure.add(service.name);
    }
  }
  const sets: ServiceEndpointSet[] = [];
  const toRead: string[] = [];
  for (const name of [...new Set(services)].sort()) {
    const consulIndex = input.serviceIndexes.get(name) ?? 0;
    if (unsure.has(name) || !input.seen.checkedServices.has(name) || consulIndex < 1) {
      toRead.push(name);
      continue;
    }
    const entries = (byService.get(name) ?? []).sort((a, b) => compareStrings(a.node.node, b.node.node) || compareStrings(a.service.id, b.service.id));
    const first = entries[0]?.service;
    const healthPath = first?.meta[SERVICE_META.healthPath];
    sets.push({
      service: name,
      consulIndex,
      protocol: first?.meta[SERVICE_META.protocol] || DEFAULT_PROTOCOL,
      ...(healthPath ? { healthPath } : {}),
      endpoints: entries.map(({ node, service }) => endpointOf(node, service, input.seen.otherChecks.get(node.node) ?? [])),
      ...policyField(entries.map(({ service }) => service.meta)),
    });
  }
  return { sets, toRead };
}

function endpointOf(node: DesiredNode, service: DesiredService, otherChecks: readonly HealthCheck[]): MeshEndpoint {
  return {
    address: node.address,
    port: service.port,
    zone: service.meta[SERVICE_META.zone] ?? node.nodeMeta[NODE_META.zone] ?? '',
    health: healthOf(node, service, otherChecks),
    // Our service registrations always carry weights 1/1 (txn-ops.ts).
    weight: 1,
    instanceName: service.meta[SERVICE_META.instanceName] ?? node.node,
    ...scaleSetFields(service.meta, node.nodeMeta),
  };
}

/** As endpoint-sets.ts `healthOf`: drain wins, else the worst of the node's checks and the service's own. */
function healthOf(node: DesiredNode, service: DesiredService, otherChecks: readonly HealthCheck[]): EndpointHealth {
  if (node.draining) return 'draining';
  const statuses = [node.azureCheck.status, ...otherChecks.filter((c) => c.ServiceID === '' || c.ServiceID === service.id).map((c) => c.Status)];
  let worst: EndpointHealth = 'passing';
  for (const status of statuses) {
    if (status === 'passing') continue;
    if (status === 'warning') worst = worst === 'critical' ? worst : 'warning';
    else worst = 'critical';
  }
  return worst;
}
