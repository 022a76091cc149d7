/**
 * Catalog mutations of the double, one function per state-store operation Consul has (ensure,
 * CAS, delete, delete-CAS, get) for nodes, services and checks. They throw `OpError` with Consul's
 * own wording; the transaction layer turns that into `Errors[{OpIndex, What}]`.
 */
import { MISSING_NODE, MISSING_SERVICE, OpError, World, sameList, sameRecord } from './catalog-kv-state';
import type { CheckEntry, NodeEntry, ServiceEntry } from './catalog-kv-state';

export interface NodeInput {
  readonly id?: string;
  readonly node: string;
  readonly address: string;
  readonly datacenter?: string;
  readonly taggedAddresses?: Record<string, string> | null;
  readonly meta?: Record<string, string> | null;
  /** For CAS verbs only. */
  readonly modifyIndex?: number;
}

export interface ServiceInput {
  readonly id: string;
  readonly service: string;
  readonly tags?: readonly string[] | null;
  readonly address?: string;
  readonly meta?: Record<string, string> | null;
  readonly port?: number;
  readonly weights?: { Passing: number; Warning: number } | null;
  readonly enableTagOverride?: boolean;
  readonly modifyIndex?: number;
}

export interface CheckInput {
  readonly node: string;
  readonly checkId: string;
  readonly name?: string;
  readonly status?: string;
  readonly notes?: string;
  readonly output?: string;
  readonly serviceId?: string;
  readonly type?: string;
  readonly definition?: Record<string, unknown> | null;
  readonly modifyIndex?: number;
}

const META_KEY = /^[a-zA-Z0-9_-]+$/;

/** Consul's node/service meta rules (structs.validateMetaPair). */
export function validateMeta(meta: Readonly<Record<string, string>>, what: string): void {
  const keys = Object.keys(meta);
  if (keys.length > 64) throw new OpError(`Invalid ${what}: Node metadata cannot contain more than 64 key/value pairs`);
  for (const key of keys) {
    if (key === '') throw new OpError(`Invalid ${what}: Key cannot be blank`);
    if (!META_KEY.test(key)) throw new OpError(`Invalid ${what}: Key contains invalid characters`);
    if (key.length > 128) throw new OpError(`Invalid ${what}: Key is too long (limit: 128 characters)`);
    if (key.startsWith('consul-')) throw new OpError(`Invalid ${what}: Key prefix 'consul-' is reserved for internal use`);
    if ((meta[key] ?? '').length > 512) throw new OpError(`Invalid ${what}: Value is too long (limit: 512 characters)`);
  }
}

// ---------------------------------------------------------------- the txn's cas and get rules, for every entry kind

/** `service "web-1" on node "n1"`: how Consul's state store names a service or check in its errors. */
function onNode(kind: 'service' | 'check', id: string, node: string): string {
  return `${kind} ${JSON.stringify(id)} on node ${JSON.stringify(node)}`;
}

/** A set-cas: index 0 only creates, any other index only updates the entry held at exactly that index. */
function requireSetCas(existing: { readonly modifyIndex: number } | undefined, cas: number, what: string): void {
  const stale = (cas === 0 && existing) || (cas !== 0 && !existing) || (existing && cas !== 0 && cas !== existing.modifyIndex);
  if (stale) throw new OpError(`failed to set ${what}, index is stale`);
}

/** A delete-cas: the entry must be held at exactly that index. */
function requireDeleteCas(existing: { readonly modifyIndex: number } | undefined, cas: number, what: string): void {
  if (!existing || existing.modifyIndex !== cas) throw new OpError(`failed to delete ${what}, index is stale`);
}

/** A get: the entry must exist. */
function existingOr<E>(existing: E | undefined, what: string): E {
  if (!existing) throw new OpError(`${what} doesn't exist`);
  return existing;
}

// ---------------------------------------------------------------- nodes

export function ensureNode(w: World, idx: number, input: NodeInput, datacenter: string): NodeEntry {
  const meta = { ...(input.meta ?? {}) };
  validateMeta(meta, 'node metadata');
  const existing = w.nodes.get(input.node);
  const next: NodeEntry = {
    id: input.id ?? existing?.id ?? '',
    node: input.node,
    address: input.address,
    datacenter: input.datacenter || datacenter,
    taggedAddresses: input.taggedAddresses && Object.keys(input.taggedAddresses).length > 0 ? { ...input.taggedAddresses } : null,
    meta,
    createIndex: existing?.createIndex ?? idx,
    modifyIndex: idx,
  };
  if (
    existing &&
    existing.id === next.id &&
    existing.address === next.address &&
    sameRecord(existing.taggedAddresses, next.taggedAddresses) &&
    sameRecord(existing.meta, next.meta)
  ) {
    return existing;
  }
  w.nodes.set(input.node, next);
  w.tables.nodes = idx;
  // Node data is part of every health answer about its services.
  w.touchServices(idx, w.servicesOf(input.node).map((s) => s.service));
  return next;
}

export function ensureNodeCas(w: World, idx: number, input: NodeInput, datacenter: string): NodeEntry {
  requireSetCas(w.nodes.get(input.node), input.modifyIndex ?? 0, `node ${JSON.stringify(input.node)}`);
  return ensureNode(w, idx, input, datacenter);
}

export function deleteNode(w: World, idx: number, node: string): void {
  if (!w.nodes.has(node)) return;
  for (const service of w.servicesOf(node)) deleteService(w, idx, node, service.id);
  for (const check of w.checksOf(node)) deleteCheck(w, idx, node, check.checkId);
  w.nodes.delete(node);
  w.services.delete(node);
  w.checks.delete(node);
  w.tables.nodes = idx;
}

export function deleteNodeCas(w: World, idx: number, node: string, cas: number): void {
  requireDeleteCas(w.nodes.get(node), cas, `node ${JSON.stringify(node)}`);
  deleteNode(w, idx, node);
}

export function getNode(w: World, node: string): NodeEntry {
  return existingOr(w.nodes.get(node), `node ${JSON.stringify(node)}`);
}

// ---------------------------------------------------------------- services

export function ensureService(w: World, idx: number, node: string, input: ServiceInput): ServiceEntry {
  const meta = { ...(input.meta ?? {}) };
  validateMeta(meta, `Service Meta for node ${node} and serviceID ${input.id}`);
  if (!w.nodes.has(node)) throw new OpError(MISSING_NODE);
  const existing = w.services.get(node)?.get(input.id);
  const next: ServiceEntry = {
    node,
    id: input.id,
    service: input.service,
    tags: [...(input.tags ?? [])],
    address: input.address ?? '',
    meta,
    port: input.port ?? 0,
    // Catalog.Register fills in 1/1 when no weights are sent; a txn Service op sends its zero value.
    weights: input.weights ? { ...input.weights } : { Passing: 1, Warning: 1 },
    enableTagOverride: input.enableTagOverride ?? false,
    createIndex: existing?.createIndex ?? idx,
    modifyIndex: idx,
  };
  if (
    existing &&
    existing.service === next.service &&
    sameList(existing.tags, next.tags) &&
    existing.address === next.address &&
    sameRecord(existing.meta, next.meta) &&
    existing.port === next.port &&
    sameRecord(existing.weights, next.weights) &&
    existing.enableTagOverride === next.enableTagOverride
  ) {
    return existing;
  }
  w.putService(next);
  w.tables.services = idx;
  w.touchServices(idx, [next.service]);
  if (existing && existing.service !== next.service) w.noteServiceRemoved(idx, existing.service);
  // Service checks carry the service's name and tags.
  for (const check of w.checksOf(node).filter((c) => c.serviceId === input.id)) {
    w.putCheck({ ...check, serviceName: next.service, serviceTags: [...next.tags] });
  }
  return next;
}

export function ensureServiceCas(w: World, idx: number, node: string, input: ServiceInput): ServiceEntry {
  requireSetCas(w.services.get(node)?.get(input.id), input.modifyIndex ?? 0, onNode('service', input.id, node));
  return ensureService(w, idx, node, input);
}

export function deleteService(w: World, idx: number, node: string, serviceId: string): void {
  const existing = w.services.get(node)?.get(serviceId);
  if (!existing) return;
  for (const check of w.checksOf(node).filter((c) => c.serviceId === serviceId)) deleteCheck(w, idx, node, check.checkId);
  w.removeService(node, serviceId);
  w.tables.services = idx;
  w.noteServiceRemoved(idx, existing.service);
}

export function deleteServiceCas(w: World, idx: number, node: string, serviceId: string, cas: number): void {
  requireDeleteCas(w.services.get(node)?.get(serviceId), cas, onNode('service', serviceId, node));
  deleteService(w, idx, node, serviceId);
}

export function getService(w: World, node: string, serviceId: string): ServiceEntry {
  return existingOr(w.services.get(node)?.get(serviceId), onNode('service', serviceId, node));
}

// ---------------------------------------------------------------- checks

export function ensureCheck(w: World, idx: number, input: CheckInput): CheckEntry {
  if (!w.nodes.has(input.node)) throw new OpError(MISSING_NODE);
  let serviceName = '';
  let serviceTags: string[] = [];
  if (input.serviceId) {
    const service = w.services.get(input.node)?.get(input.serviceId);
    if (!service) throw new OpError(MISSING_SERVICE);
    serviceName = service.service;
    serviceTags = [...service.tags];
  }
  const existing = w.checks.get(input.node)?.get(input.checkId);
  const next: CheckEntry = {
    node: input.node,
    checkId: input.checkId,
    name: input.name ?? '',
    status: input.status || 'critical',
    notes: input.notes ?? '',
    output: input.output ?? '',
    serviceId: input.serviceId ?? '',
    serviceName,
    serviceTags,
    type: input.type ?? '',
    definition: { ...(input.definition ?? {}) },
    createIndex: existing?.createIndex ?? idx,
    modifyIndex: idx,
  };
  if (
    existing &&
    existing.name === next.name &&
    existing.status === next.status &&
    existing.notes === next.notes &&
    existing.output === next.output &&
    existing.serviceId === next.serviceId &&
    existing.type === next.type &&
    sameRecord(existing.definition, next.definition)
  ) {
    return existing;
  }
  w.putCheck(next);
  w.tables.checks = idx;
  touchServicesOfCheck(w, idx, next);
  if (existing && existing.serviceId !== next.serviceId) touchServicesOfCheck(w, idx, existing);
  return next;
}

export function ensureCheckCas(w: World, idx: number, input: CheckInput): CheckEntry {
  requireSetCas(w.checks.get(input.node)?.get(input.checkId), input.modifyIndex ?? 0, onNode('check', input.checkId, input.node));
  return ensureCheck(w, idx, input);
}

export function deleteCheck(w: World, idx: number, node: string, checkId: string): void {
  const existing = w.checks.get(node)?.get(checkId);
  if (!existing) return;
  w.removeCheck(node, checkId);
  w.tables.checks = idx;
  touchServicesOfCheck(w, idx, existing);
}

export function deleteCheckCas(w: World, idx: number, node: string, checkId: string, cas: number): void {
  requireDeleteCas(w.checks.get(node)?.get(checkId), cas, onNode('check', checkId, node));
  deleteCheck(w, idx, node, checkId);
}

export function getCheck(w: World, node: string, checkId: string): CheckEntry {
  return existingOr(w.checks.get(node)?.get(checkId), onNode('check', checkId, node));
}

/** A node-level check is part of the health of every service on the node; a service check of its service only. */
function touchServicesOfCheck(w: World, idx: number, check: CheckEntry): void {
  if (check.serviceId) {
    if (check.serviceName) w.touchServices(idx, [check.serviceName]);
    return;
  }
  w.touchServices(idx, w.servicesOf(check.node).map((s) => s.service));
}
