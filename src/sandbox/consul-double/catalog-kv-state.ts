/**
 * The Consul double's state: catalog (nodes, services, checks) and KV, with the Raft-like index
 * bookkeeping that blocking queries depend on. Entries are immutable values and so are the
 * per-node service and check maps (a change replaces them: `putService`, `removeCheck`, …).
 *
 * Writes change the world in place inside `transact`, which journals what each change replaced
 * and undoes it when the write fails: a write costs what it touches, not the size of the world
 * (copying every map on every write made a 10,000-node sweep spend its time in the double).
 * Everything runs synchronously, so no reader ever sees a half-applied write.
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

type Undo = () => void;

/** A Map that records how to undo each `set` / `delete` while a journal is attached. */
class JournaledMap<K, V> extends Map<K, V> {
  journal: Undo[] | undefined = undefined;

  override set(key: K, value: V): this {
    const log = this.journal;
    if (log) {
      if (Map.prototype.has.call(this, key)) {
        const old = Map.prototype.get.call(this, key) as V;
        log.push(() => void Map.prototype.set.call(this, key, old));
      } else {
        log.push(() => void Map.prototype.delete.call(this, key));
      }
    }
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    const log = this.journal;
    if (log && Map.prototype.has.call(this, key)) {
      const old = Map.prototype.get.call(this, key) as V;
      log.push(() => void Map.prototype.set.call(this, key, old));
    }
    return super.delete(key);
  }

  override clear(): void {
    if (this.journal) throw new Error('World maps cannot be cleared inside a write');
    super.clear();
  }
}

/** Removes `id` from `node`'s map in `byNode`, replacing that map rather than changing it in place. */
function removeFromNode<V>(byNode: Map<string, ReadonlyMap<string, V>>, node: string, id: string): void {
  const held = byNode.get(node);
  if (!held?.has(id)) return;
  const next = new Map(held);
  next.delete(id);
  byNode.set(node, next);
}

export class World {
  /** Last Raft index handed out. Starts above 0: Consul never reports index 0. */
  index: number;
  readonly nodes: Map<string, NodeEntry>;
  /** node → service id → entry. */
  readonly services: Map<string, ReadonlyMap<string, ServiceEntry>>;
  /** node → check id → entry. */
  readonly checks: Map<string, ReadonlyMap<string, CheckEntry>>;
  readonly kv: Map<string, KvEntry>;
  /** Deleted KV keys → index of the delete, so a prefix listing's index never goes backwards. */
  readonly kvGraveyard: Map<string, number>;
  readonly tables: TableIndexes;
  /** service name → index of its last change (instances, their checks, their nodes). */
  readonly serviceIndexes: Map<string, number>;
  /** Index of the last time a service's final instance went away (Consul's service_last_extinction). */
  serviceExtinction: number;

  private readonly journaled: ReadonlyArray<JournaledMap<string, unknown>>;
  private writing = false;

  constructor() {
    this.index = 1;
    this.nodes = new JournaledMap();
    this.services = new JournaledMap();
    this.checks = new JournaledMap();
    this.kv = new JournaledMap();
    this.kvGraveyard = new JournaledMap();
    this.tables = { nodes: 1, services: 1, checks: 1, kvs: 1 };
    this.serviceIndexes = new JournaledMap();
    this.serviceExtinction = 0;
    this.journaled = [this.nodes, this.services, this.checks, this.kv, this.kvGraveyard, this.serviceIndexes] as unknown as JournaledMap<string, unknown>[];
  }

  /**
   * Runs `write` against this world; when it throws, or `keep` says no, every change it made is
   * undone (all-or-nothing). Not reentrant.
   */
  transact<T>(write: () => T, keep: (result: T) => boolean = () => true): { readonly result: T; readonly kept: boolean } {
    if (this.writing) throw new Error('a World write is already in progress');
    const journal: Undo[] = [];
    const saved = { index: this.index, tables: { ...this.tables }, serviceExtinction: this.serviceExtinction };
    const rollback = (): void => {
      for (let i = journal.length - 1; i >= 0; i -= 1) (journal[i] as Undo)();
      this.index = saved.index;
      Object.assign(this.tables, saved.tables);
      this.serviceExtinction = saved.serviceExtinction;
    };
    this.writing = true;
    for (const map of this.journaled) map.journal = journal;
    try {
      let result: T;
      try {
        result = write();
      } catch (error) {
        for (const map of this.journaled) map.journal = undefined;
        rollback();
        throw error;
      }
      for (const map of this.journaled) map.journal = undefined;
      const kept = keep(result);
      if (!kept) rollback();
      return { result, kept };
    } finally {
      for (const map of this.journaled) map.journal = undefined;
      this.writing = false;
    }
  }

  /** Sets a service entry; the node's service map is replaced, never changed in place. */
  putService(entry: ServiceEntry): void {
    this.services.set(entry.node, new Map(this.services.get(entry.node)).set(entry.id, entry));
  }

  removeService(node: string, id: string): void {
    removeFromNode(this.services, node, id);
  }

  /** Sets a check entry; the node's check map is replaced, never changed in place. */
  putCheck(entry: CheckEntry): void {
    this.checks.set(entry.node, new Map(this.checks.get(entry.node)).set(entry.checkId, entry));
  }

  removeCheck(node: string, checkId: string): void {
    removeFromNode(this.checks, node, checkId);
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
