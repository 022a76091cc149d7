/**
 * The Consul double's state: catalog (nodes, services, checks) and KV, with the Raft-like index
 * bookkeeping that blocking queries depend on. Entries are immutable values: a change replaces the
 * entry, so `clone()` is a cheap copy of the maps and a failed transaction simply drops its copy.
 *
 * Index rules follow Consul's state store: every write gets the next index; an entry only takes it
 * when it really changes (a write of identical data keeps the old ModifyIndex); table indexes and
 * per-service indexes record the last change, including deletions, so a blocked query wakes on them.
 */

export interface NodeEntry {
  readonly id: string;
  readonly node: string;
  readonly address: string;
  readonly datacenter: string;
  readonly taggedAddresses: Readonly<Record<string, string>> | null;
  readonly meta: Readonly<Record<string, string>>;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface ServiceEntry {
  readonly node: string;
  readonly id: string;
  readonly service: string;
  readonly tags: readonly string[];
  readonly address: string;
  readonly meta: Readonly<Record<string, string>>;
  readonly port: number;
  readonly weights: { readonly Passing: number; readonly Warning: number };
  readonly enableTagOverride: boolean;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export type CheckStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

export interface CheckEntry {
  readonly node: string;
  readonly checkId: string;
  readonly name: string;
  readonly status: string;
  readonly notes: string;
  readonly output: string;
  readonly serviceId: string;
  readonly serviceName: string;
  readonly serviceTags: readonly string[];
  readonly type: string;
  readonly definition: Readonly<Record<string, unknown>>;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface KvEntry {
  readonly key: string;
  /** Base64, as Consul's JSON carries it; null for an empty value. */
  readonly value: string | null;
  readonly flags: number;
  readonly lockIndex: number;
  readonly session: string;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** A failed operation: the message is what Consul says (txn `What`, or a plain-text HTTP body). */
export class OpError extends Error {
  constructor(
    message: string,
    /** HTTP status when the failure answers a plain (non-txn) request. */
    readonly status = 500,
  ) {
    super(message);
    this.name = 'OpError';
  }
}

export const MISSING_NODE = 'Missing node registration';
export const MISSING_SERVICE = 'Missing service registration';

export interface TableIndexes {
  nodes: number;
  services: number;
  checks: number;
  kvs: number;
}

export class World {
  /** Last Raft index handed out. Starts above 0: Consul never reports index 0. */
  index: number;
  readonly nodes: Map<string, NodeEntry>;
  /** node → service id → entry. */
  readonly services: Map<string, Map<string, ServiceEntry>>;
  /** node → check id → entry. */
  readonly checks: Map<string, Map<string, CheckEntry>>;
  readonly kv: Map<string, KvEntry>;
  /** Deleted KV keys → index of the delete, so a prefix listing's index never goes backwards. */
  readonly kvGraveyard: Map<string, number>;
  readonly tables: TableIndexes;
  /** service name → index of its last change (instances, their checks, their nodes). */
  readonly serviceIndexes: Map<string, number>;
  /** Index of the last time a service's final instance went away (Consul's service_last_extinction). */
  serviceExtinction: number;

  constructor(source?: World) {
    this.index = source?.index ?? 1;
    this.nodes = new Map(source?.nodes);
    this.services = new Map([...(source?.services ?? [])].map(([n, m]) => [n, new Map(m)]));
    this.checks = new Map([...(source?.checks ?? [])].map(([n, m]) => [n, new Map(m)]));
    this.kv = new Map(source?.kv);
    this.kvGraveyard = new Map(source?.kvGraveyard);
    this.tables = { ...(source?.tables ?? { nodes: 1, services: 1, checks: 1, kvs: 1 }) };
    this.serviceIndexes = new Map(source?.serviceIndexes);
    this.serviceExtinction = source?.serviceExtinction ?? 0;
  }

  clone(): World {
    return new World(this);
  }

  servicesOf(node: string): ServiceEntry[] {
    return [...(this.services.get(node)?.values() ?? [])];
  }

  checksOf(node: string): CheckEntry[] {
    return [...(this.checks.get(node)?.values() ?? [])];
  }

  allServices(): ServiceEntry[] {
    return [...this.services.values()].flatMap((m) => [...m.values()]);
  }

  allChecks(): CheckEntry[] {
    return [...this.checks.values()].flatMap((m) => [...m.values()]);
  }

  instancesOf(serviceName: string): ServiceEntry[] {
    return this.allServices().filter((s) => s.service === serviceName);
  }

  /** The index a query about one service reports (Consul: the service's index, else the last extinction). */
  serviceIndex(serviceName: string): number {
    return this.serviceIndexes.get(serviceName) ?? Math.max(this.serviceExtinction, 1);
  }

  touchServices(idx: number, names: Iterable<string>): void {
    for (const name of names) this.serviceIndexes.set(name, idx);
  }

  /** After removing instances of `name`: record the extinction when none are left. */
  noteServiceRemoved(idx: number, name: string): void {
    this.serviceIndexes.set(name, idx);
    if (this.instancesOf(name).length === 0) this.serviceExtinction = idx;
  }
}

export function sameRecord(a: Readonly<Record<string, unknown>> | null, b: Readonly<Record<string, unknown>> | null): boolean {
  const left = a ?? {};
  const right = b ?? {};
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((k) => Object.prototype.hasOwnProperty.call(right, k) && JSON.stringify(left[k]) === JSON.stringify(right[k]));
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
