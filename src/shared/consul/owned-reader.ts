/**
 * Reads back what we own from Consul — and only that. Every query is filtered server-side by our
 * node meta (`external-source=vmss-mesh`, plus the scale set for one scale set; one scale set's
 * node list by its scale-set meta alone, to see the nodes we released too); services are read
 * per service name on our nodes, so the number of requests grows with the number of service names,
 * not of nodes: 1 × /catalog/nodes, 1 × /catalog/services, 1 × /catalog/service/:name per name,
 * 1 × /health/state/any. Services, checks and meta keys someone else put on our nodes are only
 * recorded (`OwnedNode.foreign`) so that writes keep them; they never enter the model as ours.
 * consul-esm's own node check (ESM_NODE_CHECKS) is neither ours nor foreign: ESM keeps it because
 * of our `external-probe` mark, so it goes with the node and is otherwise left to ESM.
 */
import type { OwnedNode } from '../model';
import { AZURE_CHECK_ID, ESM_NODE_CHECKS, EXTERNAL_SOURCE, MAINTENANCE_CHECK_ID, NODE_META, SERVICE_TAG, isOwnedNodeMeta } from '../ownership';
import type { ConsulRequest, ConsulResponse } from './transport';
import { encodePath, parseAnswer } from './transport';
import * as wire from './wire';
import { compareStrings } from '../compare-strings';

/**
 * What reading needs of the transport: GET requests, nothing else (ConsulTransport is one). Whoever
 * holds only this cannot write to Consul.
 */
export interface ConsulGets {
  call(request: ConsulRequest & { readonly method: 'GET' }): Promise<ConsulResponse>;
}

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
export async function readOwnedNodeRecords(consul: ConsulGets, scope: OwnedScope): Promise<wire.CatalogNode[]> {
  const res = await consul.call({
    method: 'GET',
    path: '/catalog/nodes',
    query: { 'node-meta': ownedNodeMetaFilter(scope.scaleSetId), ...(scope.consistent ? { consistent: '' } : {}) },
  });
  return parseAnswer(wire.catalogNodes, res.body, 'catalog nodes').filter((n) => isOurs(n.Meta, scope.scaleSetId));
}

/**
 * A node we let go of (see plan-units.ts, deregistration of a shared node): it still carries
 * someone else's services or checks, so we removed only our entries and our `external-source`
 * mark, and marked it released (NODE_META.released). It kept our scale set and instance meta, so
 * the same instance (same node name) can take it back by registering over it at `modifyIndex`;
 * nothing else of ours ever looks at it. Without the released mark a node is not one of these,
 * whatever other meta it carries (someone may have registered it by hand with our keys).
 */
export interface ReleasedNode {
  readonly node: string;
  readonly modifyIndex: number;
  readonly instanceResourceId: string;
  /** Its meta keys that are not ours, kept when we take it back. */
  readonly foreignMeta: Readonly<Record<string, string>>;
}

export interface OwnedState {
  readonly owned: OwnedNode[];
  /** Only for a scoped read (one scale set); empty otherwise. */
  readonly released: ReleasedNode[];
  /**
   * What a scoped read saw beyond our entries, for the endpoint sets a push carries
   * (pushed-sets.ts): checks on our nodes that are not ours (consul-esm's, someone else's), and the
   * names of our services whose endpoint set the read cannot vouch for alone (instances of other
   * scale sets, a service address someone set, a node without our Azure check). Empty for an
   * unscoped read.
   */
  readonly seen: SeenBeyondOurs;
}

export interface SeenBeyondOurs {
  /** node → checks on it that are not our Azure or maintenance check (node-level and per service). */
  readonly otherChecks: ReadonlyMap<string, readonly wire.HealthCheck[]>;
  readonly unvouchedServices: ReadonlySet<string>;
  /** Service names read on all our nodes: only for these does the read know who else carries them. */
  readonly checkedServices: ReadonlySet<string>;
}

export const NOTHING_SEEN: SeenBeyondOurs = { otherChecks: new Map(), unvouchedServices: new Set(), checkedServices: new Set() };

/**
 * Our nodes with our services and checks, and what else sits on them. Every service name on our
 * nodes is read without the tag filter, so services added by hand to our nodes are seen in the
 * same requests; a name carried only by such services costs one more request (per name, not per
 * node). A scoped read asks for the scale set's nodes by the scale-set meta alone, which also
 * returns the nodes we released (no `external-source`) in the same request.
 */
export async function readOwnedState(consul: ConsulGets, scope: OwnedScope): Promise<OwnedState> {
  const consistency = scope.consistent ? { consistent: '' } : {};
  const nodesRes = await consul.call({
    method: 'GET',
    path: '/catalog/nodes',
    query: { 'node-meta': scope.scaleSetId ? [`${NODE_META.scaleSetId}:${scope.scaleSetId}`] : ownedNodeMetaFilter(), ...consistency },
  });
  const records = parseAnswer(wire.catalogNodes, nodesRes.body, 'catalog nodes');
  const nodes = records.filter((n) => isOurs(n.Meta, scope.scaleSetId));
  const released = scope.scaleSetId ? records.filter((n) => isReleased(n.Meta, scope.scaleSetId as string)).map(toReleasedNode) : [];
  if (nodes.length === 0) return { owned: [], released, seen: NOTHING_SEEN };
  const filter = ownedNodeMetaFilter(scope.scaleSetId);

  const servicesRes = await consul.call({ method: 'GET', path: '/catalog/services', query: { 'node-meta': filter, ...consistency } });
  const names = Object.keys(parseAnswer(wire.catalogServices, servicesRes.body, 'catalog services')).sort();
  // Per name on all our nodes (not only this scale set's): the same requests then also tell which
  // services other scale sets carry too, whose endpoint set this run cannot compute alone.
  const serviceFilter = scope.scaleSetId ? ownedNodeMetaFilter() : filter;
  const unvouched = new Set<string>();
  const instanceLists = await Promise.all(
    names.map(async (name) => {
      const res = await consul.call({ method: 'GET', path: `/catalog/service/${encodePath(name)}`, query: { 'node-meta': serviceFilter, ...consistency } });
      const all = parseAnswer(wire.catalogServiceNodes, res.body, `catalog service ${name}`);
      if (!scope.scaleSetId) return all;
      const here = all.filter((s) => s.NodeMeta[NODE_META.scaleSetId] === scope.scaleSetId);
      const ours = (s: wire.CatalogServiceNode): boolean => s.ServiceTags.includes(SERVICE_TAG);
      if (all.some((s) => ours(s) && s.NodeMeta[NODE_META.scaleSetId] !== scope.scaleSetId) || here.some((s) => ours(s) && s.ServiceAddress !== '')) unvouched.add(name);
      return here;
    }),
  );
  const checksRes = await consul.call({ method: 'GET', path: '/health/state/any', query: { 'node-meta': filter, ...consistency } });
  const checks = parseAnswer(wire.healthChecks, checksRes.body, 'health state any');

  const servicesByNode = groupBy(instanceLists.flat(), (s) => s.Node);
  const checksByNode = groupBy(checks, (c) => c.Node);
  const owned = nodes
    .map((n) => toOwnedNode(n, servicesByNode.get(n.Node) ?? [], checksByNode.get(n.Node) ?? []))
    .sort((a, b) => compareStrings(a.node, b.node));
  if (!scope.scaleSetId) return { owned, released, seen: NOTHING_SEEN };
  const otherChecks = new Map<string, wire.HealthCheck[]>();
  for (const n of nodes) {
    const held = checksByNode.get(n.Node) ?? [];
    const other = held.filter((c) => !(c.ServiceID === '' && OUR_NODE_CHECKS.has(c.CheckID)));
    if (other.length > 0) otherChecks.set(n.Node, other);
    if (!held.some((c) => c.ServiceID === '' && c.CheckID === AZURE_CHECK_ID)) for (const s of servicesByNode.get(n.Node) ?? []) unvouched.add(s.ServiceName);
  }
  return { owned, released, seen: { otherChecks, unvouchedServices: unvouched, checkedServices: new Set(names) } };
}

const OUR_NODE_META_KEYS: ReadonlySet<string> = new Set(Object.values(NODE_META));
const OUR_NODE_CHECKS: ReadonlySet<string> = new Set([AZURE_CHECK_ID, MAINTENANCE_CHECK_ID]);

/** A node check that is not someone else's: ours, or the one consul-esm keeps for our mark. */
function isOursOrEsm(checkId: string): boolean {
  return OUR_NODE_CHECKS.has(checkId) || ESM_NODE_CHECKS.has(checkId);
}

/** Node meta split into our keys (NODE_META, plus any key `alsoOurs` sets) and everyone else's. */
export function splitNodeMeta(
  meta: Readonly<Record<string, string>>,
  alsoOurs: Readonly<Record<string, string>> = {},
): { ours: Record<string, string>; foreign: Record<string, string> } {
  const ours: Record<string, string> = {};
  const foreign: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (OUR_NODE_META_KEYS.has(key) || Object.prototype.hasOwnProperty.call(alsoOurs, key)) ours[key] = value;
    else foreign[key] = value;
  }
  return { ours, foreign };
}

function isReleased(meta: Readonly<Record<string, string>>, scaleSetId: string): boolean {
  return (
    meta[NODE_META.externalSource] === undefined &&
    meta[NODE_META.released] !== undefined &&
    meta[NODE_META.scaleSetId] === scaleSetId &&
    !!meta[NODE_META.instanceId]
  );
}

function toReleasedNode(node: wire.CatalogNode): ReleasedNode {
  return {
    node: node.Node,
    modifyIndex: node.ModifyIndex,
    instanceResourceId: (node.Meta[NODE_META.instanceId] ?? '').toLowerCase(),
    foreignMeta: splitNodeMeta(node.Meta).foreign,
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function isOurs(meta: Readonly<Record<string, string>>, scaleSetId: string | undefined): boolean {
  return isOwnedNodeMeta(meta) && (scaleSetId === undefined || meta[NODE_META.scaleSetId] === scaleSetId);
}

/**
 * One node from its records: services with our tag and our node checks are ours; everything else
 * on it (services without our tag, node checks and service checks not of our services, meta keys
 * not ours) is foreign and only recorded, except consul-esm's node check (not foreign: it must not
 * turn every deregistration into a release). A missing Azure check reads as critical with empty
 * output, so the planner sees a difference and the next update writes it back.
 * `instanceResourceId` is the instance meta the planner writes.
 */
export function toOwnedNode(node: wire.CatalogNode, services: readonly wire.CatalogServiceNode[], checks: readonly wire.HealthCheck[]): OwnedNode {
  const ours = services.filter((s) => s.ServiceTags.includes(SERVICE_TAG));
  const ourIds = new Set(ours.map((s) => s.ServiceID));
  const nodeChecks = checks.filter((c) => c.ServiceID === '');
  const azure = nodeChecks.find((c) => c.CheckID === AZURE_CHECK_ID);
  const status = azure?.Status;
  const meta = splitNodeMeta(node.Meta);
  const foreignServices = services.filter((s) => !ourIds.has(s.ServiceID)).map((s) => s.ServiceID);
  const foreignChecks = checks.filter((c) => (c.ServiceID === '' ? !isOursOrEsm(c.CheckID) : !ourIds.has(c.ServiceID))).map((c) => c.CheckID);
  const hasForeign = Object.keys(meta.foreign).length > 0 || foreignServices.length > 0 || foreignChecks.length > 0;
  return {
    node: node.Node,
    address: node.Address,
    nodeMeta: meta.ours,
    services: ours
      .map((s) => ({ id: s.ServiceID, name: s.ServiceName, port: s.ServicePort, tags: s.ServiceTags, meta: s.ServiceMeta }))
      .sort((a, b) => compareStrings(a.id, b.id)),
    azureCheck: {
      status: status === 'passing' || status === 'warning' || status === 'critical' ? status : 'critical',
      output: azure?.Output ?? '',
    },
    draining: nodeChecks.some((c) => c.CheckID === MAINTENANCE_CHECK_ID),
    instanceResourceId: (node.Meta[NODE_META.instanceId] ?? '').toLowerCase(),
    nodeModifyIndex: node.ModifyIndex,
    ...(hasForeign ? { foreign: { nodeMeta: meta.foreign, serviceIds: [...new Set(foreignServices)].sort(), checkIds: [...new Set(foreignChecks)].sort() } } : {}),
  };
}
