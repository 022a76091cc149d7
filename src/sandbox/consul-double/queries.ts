/**
 * The double's catalog and health reads: what each endpoint returns and which index it reports
 * (the index decides when a blocking query wakes). List reads are filtered by ACL rather than
 * refused, as in Consul, and say so through `filtered`.
 */
import type { Authorizer } from './acl';
import type { Predicate } from './filter';
import { renderCheck, renderNode, renderNodeService, renderServiceNode } from './render';
import type { CheckEntry, NodeEntry, ServiceEntry, World } from './catalog-kv-state';
import { OpError } from './catalog-kv-state';
import { compareStrings } from '../../shared/compare-strings';

export interface ReadAnswer {
  readonly index: number;
  readonly status?: number;
  readonly json?: unknown;
  /** Empty body (KV 404). */
  readonly empty?: boolean;
  readonly raw?: Buffer;
  readonly filtered?: boolean;
}

export type MetaFilter = ReadonlyArray<readonly [string, string]>;

/** `?node-meta=key:value` (repeatable); all pairs must match. */
export function parseMetaFilter(params: URLSearchParams): MetaFilter {
  return params.getAll('node-meta').map((raw) => {
    const at = raw.indexOf(':');
    return at < 0 ? ([raw, ''] as const) : ([raw.slice(0, at), raw.slice(at + 1)] as const);
  });
}

function metaMatches(meta: Readonly<Record<string, string>>, filter: MetaFilter): boolean {
  return filter.every(([k, v]) => meta[k] === v);
}

/** Records a `?filter=` keeps (all without one); applied after the other parameters, before ACL filtering shows. */
const keepAll: Predicate = () => true;

const byName = (a: { node: string }, b: { node: string }): number => compareStrings(a.node, b.node);

export function catalogNodes(w: World, filter: MetaFilter, authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  const matching = [...w.nodes.values()].filter((n) => metaMatches(n.meta, filter)).sort(byName);
  const visible = matching.filter((n) => authz.allowed('node', n.node, 'read'));
  return { index: w.tables.nodes, json: visible.map(renderNode).filter(keep), filtered: visible.length < matching.length };
}

export function catalogNode(w: World, name: string, authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  const index = Math.max(w.tables.nodes, w.tables.services);
  const node = w.nodes.get(name);
  if (!node || !authz.allowed('node', name, 'read')) return { index, json: null, filtered: !!node };
  const services = Object.fromEntries(
    w.servicesOf(name)
      .filter((s) => authz.allowed('service', s.service, 'read'))
      .map((s) => [s.id, renderNodeService(s)] as const)
      .filter(([, rendered]) => keep(rendered)),
  );
  return { index, json: { Node: renderNode(node), Services: services } };
}

export function catalogNodeServices(w: World, name: string, authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  const index = Math.max(w.tables.nodes, w.tables.services);
  const node = w.nodes.get(name);
  if (!node || !authz.allowed('node', name, 'read')) return { index, json: { Node: null, Services: null }, filtered: !!node };
  const services = w.servicesOf(name).filter((s) => authz.allowed('service', s.service, 'read'));
  return { index, json: { Node: renderNode(node), Services: services.map(renderNodeService).filter(keep) } };
}

/**
 * Each node the meta filter keeps, with its services (the node first: a filtered read of a few
 * nodes in a large world then costs a meta comparison per node, not an array of every entry).
 */
function* servicesOnNodes(w: World, filter: MetaFilter): Generator<{ node: NodeEntry; service: ServiceEntry }> {
  for (const node of w.nodes.values()) {
    if (!metaMatches(node.meta, filter)) continue;
    const services = w.services.get(node.node);
    if (services) for (const service of services.values()) yield { node, service };
  }
}

export function catalogServices(w: World, filter: MetaFilter, authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  const tags = new Map<string, Set<string>>();
  let filtered = false;
  for (const { node, service: s } of servicesOnNodes(w, filter)) {
    if (!authz.allowed('service', s.service, 'read')) {
      filtered = true;
      continue;
    }
    // Consul filters the service instances (structs.ServiceNode) before it collects names and tags.
    if (!keep(renderServiceNode(node, s))) continue;
    const set = tags.get(s.service) ?? new Set<string>();
    s.tags.forEach((t) => set.add(t));
    tags.set(s.service, set);
  }
  const names = [...tags.keys()].sort();
  const index = filter.length > 0 ? Math.max(w.tables.services, w.tables.nodes) : w.tables.services;
  return { index, json: Object.fromEntries(names.map((n) => [n, [...(tags.get(n) ?? [])].sort()])), filtered };
}

interface Instance {
  readonly node: NodeEntry;
  readonly service: ServiceEntry;
}

function instances(w: World, name: string, filter: MetaFilter, tags: readonly string[]): Instance[] {
  const out: Instance[] = [];
  for (const { node, service: s } of servicesOnNodes(w, filter)) {
    if (s.service !== name || !tags.every((t) => s.tags.includes(t))) continue;
    out.push({ node, service: s });
  }
  return out.sort((a, b) => byName(a.node, b.node) || (a.service.id < b.service.id ? -1 : 1));
}

function visibleInstances(all: Instance[], authz: Authorizer): Instance[] {
  return all.filter((i) => authz.allowed('service', i.service.service, 'read') && authz.allowed('node', i.node.node, 'read'));
}

export function catalogService(w: World, name: string, filter: MetaFilter, tags: readonly string[], authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  const all = instances(w, name, filter, tags);
  const visible = visibleInstances(all, authz);
  return { index: w.serviceIndex(name), json: visible.map((i) => renderServiceNode(i.node, i.service)).filter(keep), filtered: visible.length < all.length };
}

function healthChecksOf(w: World, instance: Instance): CheckEntry[] {
  return w.checksOf(instance.node.node).filter((c) => c.serviceId === '' || c.serviceId === instance.service.id);
}

export function healthService(
  w: World,
  name: string,
  filter: MetaFilter,
  tags: readonly string[],
  passingOnly: boolean,
  authz: Authorizer,
  keep: Predicate = keepAll,
): ReadAnswer {
  const all = instances(w, name, filter, tags);
  const visible = visibleInstances(all, authz);
  const entries = visible
    .map((i) => ({ i, checks: healthChecksOf(w, i) }))
    .filter(({ checks }) => !passingOnly || checks.every((c) => c.status === 'passing'))
    .map(({ i, checks }) => ({ Node: renderNode(i.node), Service: renderNodeService(i.service), Checks: checks.map(renderCheck) }))
    .filter(keep);
  return { index: w.serviceIndex(name), json: entries, filtered: visible.length < all.length };
}

export function healthNode(w: World, name: string, authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  const checks = authz.allowed('node', name, 'read') ? w.checksOf(name) : [];
  return { index: w.tables.checks, json: checks.map(renderCheck).filter(keep), filtered: checks.length < w.checksOf(name).length };
}

export function healthChecks(w: World, service: string, filter: MetaFilter, authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  const all = w.allChecks().filter((c) => c.serviceName === service && metaMatches(w.nodes.get(c.node)?.meta ?? {}, filter));
  const visible = all.filter((c) => authz.allowed('service', service, 'read') && authz.allowed('node', c.node, 'read'));
  return { index: w.tables.checks, json: visible.sort(byName).map(renderCheck).filter(keep), filtered: visible.length < all.length };
}

const STATES = new Set(['any', 'passing', 'warning', 'critical']);

export function healthState(w: World, state: string, filter: MetaFilter, authz: Authorizer, keep: Predicate = keepAll): ReadAnswer {
  if (state === '') throw new OpError('Missing check state', 400);
  if (!STATES.has(state)) throw new OpError('Bad check state', 400);
  const all: CheckEntry[] = [];
  for (const node of w.nodes.values()) {
    if (!metaMatches(node.meta, filter)) continue;
    for (const c of w.checks.get(node.node)?.values() ?? []) if (state === 'any' || c.status === state) all.push(c);
  }
  const visible = all.filter((c) => authz.allowed('node', c.node, 'read') && (!c.serviceName || authz.allowed('service', c.serviceName, 'read')));
  return { index: w.tables.checks, json: visible.sort(byName).map(renderCheck).filter(keep), filtered: visible.length < all.length };
}
