/**
 * Reads back what we own from Consul — and only that. Every query is filtered server-side by our
 * node meta (`external-source=vmss-mesh`, plus the scale set for one scale set) and services by
 * our tag, so the number of requests grows with the number of mesh services, not of nodes:
 *   1 × /catalog/nodes, 1 × /catalog/services, 1 × /catalog/service/:name per service, 1 × /health/state/any.
 * Entries without our marks never enter the model.
 */
import type { OwnedNode } from '../model';
import { AZURE_CHECK_ID, EXTERNAL_SOURCE, MAINTENANCE_CHECK_ID, NODE_META, SERVICE_TAG, isOwnedNodeMeta } from '../ownership';
import type { ConsulTransport } from './transport';
import { encodePath, parseAnswer } from './transport';
import * as wire from './wire';

export interface OwnedScope {
  /** Only this scale set's nodes (normalised ID); all scale sets when absent. */
  readonly scaleSetId?: string;
  /** Ask for a linearizable read (`?consistent`), used right after a claim. */
  readonly consistent?: boolean;
}

export function ownedNodeMetaFilter(scaleSetId?: string): string[] {
  const filter = [`${NODE_META.externalSource}:${EXTERNAL_SOURCE}`];
  if (scaleSetId) filter.push(`${NODE_META.scaleSetId}:${scaleSetId}`);
  return filter;
}

/** Our nodes (without services and checks); one request. */
export async function readOwnedNodeRecords(transport: ConsulTransport, scope: OwnedScope): Promise<wire.CatalogNode[]> {
  const res = await transport.call({
    method: 'GET',
    path: '/catalog/nodes',
    query: { 'node-meta': ownedNodeMetaFilter(scope.scaleSetId), ...(scope.consistent ? { consistent: '' } : {}) },
  });
  return parseAnswer(wire.catalogNodes, res.body, 'catalog nodes').filter((n) => isOurs(n.Meta, scope.scaleSetId));
}

export async function readOwnedNodes(transport: ConsulTransport, scope: OwnedScope): Promise<OwnedNode[]> {
  const nodes = await readOwnedNodeRecords(transport, scope);
  if (nodes.length === 0) return [];
  const filter = ownedNodeMetaFilter(scope.scaleSetId);
  const consistency = scope.consistent ? { consistent: '' } : {};

  const servicesRes = await transport.call({ method: 'GET', path: '/catalog/services', query: { 'node-meta': filter, ...consistency } });
  const names = Object.entries(parseAnswer(wire.catalogServices, servicesRes.body, 'catalog services'))
    .filter(([, tags]) => tags.includes(SERVICE_TAG))
    .map(([name]) => name)
    .sort();
  const instanceLists = await Promise.all(
    names.map(async (name) => {
      const res = await transport.call({
        method: 'GET',
        path: `/catalog/service/${encodePath(name)}`,
        query: { 'node-meta': filter, tag: SERVICE_TAG, ...consistency },
      });
      return parseAnswer(wire.catalogServiceNodes, res.body, `catalog service ${name}`);
    }),
  );
  const checksRes = await transport.call({ method: 'GET', path: '/health/state/any', query: { 'node-meta': filter, ...consistency } });
  const checks = parseAnswer(wire.healthChecks, checksRes.body, 'health state any');

  const servicesByNode = new Map<string, wire.CatalogServiceNode[]>();
  for (const instance of instanceLists.flat()) {
    if (!instance.ServiceTags.includes(SERVICE_TAG)) continue;
    servicesByNode.set(instance.Node, [...(servicesByNode.get(instance.Node) ?? []), instance]);
  }
  const checksByNode = new Map<string, wire.HealthCheck[]>();
  for (const check of checks) {
    if (check.ServiceID !== '') continue;
    checksByNode.set(check.Node, [...(checksByNode.get(check.Node) ?? []), check]);
  }
  return nodes
    .map((n) => toOwnedNode(n, servicesByNode.get(n.Node) ?? [], checksByNode.get(n.Node) ?? []))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

function isOurs(meta: Readonly<Record<string, string>>, scaleSetId: string | undefined): boolean {
  return isOwnedNodeMeta(meta) && (scaleSetId === undefined || meta[NODE_META.scaleSetId] === scaleSetId);
}

/**
 * A missing Azure check reads as critical with empty output, so the planner sees a difference and
 * the next update writes it back. `instanceResourceId` is the instance meta the planner writes.
 */
export function toOwnedNode(node: wire.CatalogNode, services: readonly wire.CatalogServiceNode[], checks: readonly wire.HealthCheck[]): OwnedNode {
  const azure = checks.find((c) => c.CheckID === AZURE_CHECK_ID);
  const status = azure?.Status;
  return {
    node: node.Node,
    address: node.Address,
    nodeMeta: node.Meta,
    services: services
      .map((s) => ({ id: s.ServiceID, name: s.ServiceName, port: s.ServicePort, tags: s.ServiceTags, meta: s.ServiceMeta }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    azureCheck: {
      status: status === 'passing' || status === 'warning' || status === 'critical' ? status : 'critical',
      output: azure?.Output ?? '',
    },
    draining: checks.some((c) => c.CheckID === MAINTENANCE_CHECK_ID),
    instanceResourceId: (node.Meta[NODE_META.instanceId] ?? '').toLowerCase(),
    nodeModifyIndex: node.ModifyIndex,
  };
}
