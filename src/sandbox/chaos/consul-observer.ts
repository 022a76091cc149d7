/**
 * Watches every write the Consul double commits (its commit observer) for two invariants of the
 * chaos soak: no node ARM lists as running is ever deregistered (wrongful removal), and nothing
 * the mesh does not own is ever changed (unowned write). Judged synchronously at the commit, so
 * "ARM's state at that time" is exact: the ARM world lives in the same process.
 */
import type { CommitRecord, ConsulDoubleState, WorldSnapshot } from '../consul-double';
import { EXTERNAL_SOURCE, NODE_META, SERVICE_TAG } from '../../shared/ownership';

export interface WrongfulRemoval {
  readonly at: number;
  readonly node: string;
  readonly address: string;
  /** What ARM said about the instance at that moment. */
  readonly arm: string;
  readonly faultClass: string;
}

export interface UnownedWrite {
  readonly at: number;
  readonly what: string;
  readonly faultClass: string;
}

export interface ObserverOptions {
  /** ARM's view of the instance with this private IP now: `running …` when it must stay registered, else undefined. */
  readonly runningInstanceAt: (address: string) => string | undefined;
  /** The fault class to blame for what happens now. */
  readonly currentClass: () => string;
  /** The mesh's KV prefix (default `vmss-mesh`). */
  readonly kvPrefix?: string;
}

/** A node is the mesh's when it carries our source mark, or our released mark (we let it go, we may take it back). */
export function isMeshNode(meta: Readonly<Record<string, string>>): boolean {
  return meta[NODE_META.externalSource] === EXTERNAL_SOURCE || NODE_META.released in meta;
}

function foreignView(snapshot: WorldSnapshot, kvPrefix: string): Map<string, string> {
  const view = new Map<string, string>();
  const meshNodes = new Set(snapshot.nodes.filter((n) => isMeshNode(n.meta)).map((n) => n.node));
  for (const n of snapshot.nodes) if (!meshNodes.has(n.node)) view.set(`node ${n.node}`, JSON.stringify(n));
  for (const s of snapshot.services) {
    // On our nodes, services without our tag are someone else's too.
    if (!meshNodes.has(s.node) || !s.tags.includes(SERVICE_TAG)) view.set(`service ${s.node}/${s.id}`, JSON.stringify(s));
  }
  for (const c of snapshot.checks) if (!meshNodes.has(c.node)) view.set(`check ${c.node}/${c.checkId}`, JSON.stringify(c));
  for (const e of snapshot.kv) if (e.key !== kvPrefix && !e.key.startsWith(`${kvPrefix}/`)) view.set(`kv ${e.key}`, JSON.stringify(e));
  return view;
}

/** Our registrations (node → address) that carry a mesh service. */
function registered(snapshot: WorldSnapshot): Map<string, string> {
  const withService = new Set(snapshot.services.filter((s) => s.tags.includes(SERVICE_TAG)).map((s) => s.node));
  const out = new Map<string, string>();
  for (const n of snapshot.nodes) if (n.meta[NODE_META.externalSource] === EXTERNAL_SOURCE && withService.has(n.node)) out.set(n.node, n.address);
  return out;
}

export class ConsulObserver {
  readonly removals: WrongfulRemoval[] = [];
  readonly unownedWrites: UnownedWrite[] = [];
  commits = 0;
  private readonly stop: () => void;
  private readonly kvPrefix: string;

  constructor(
    state: ConsulDoubleState,
    private readonly options: ObserverOptions,
  ) {
    this.kvPrefix = options.kvPrefix ?? 'vmss-mesh';
    this.stop = state.observeCommits((commit) => this.judge(commit));
  }

  close(): void {
    this.stop();
  }

  private judge({ before, after }: CommitRecord): void {
    this.commits += 1;
    const at = Date.now();
    const faultClass = this.options.currentClass();
    const now = registered(after);
    for (const [node, address] of registered(before)) {
      if (now.has(node)) continue;
      const arm = this.options.runningInstanceAt(address);
      if (arm) this.removals.push({ at, node, address, arm, faultClass });
    }
    const was = foreignView(before, this.kvPrefix);
    const is = foreignView(after, this.kvPrefix);
    for (const [key, value] of was) if (is.get(key) !== value) this.unownedWrites.push({ at, what: is.has(key) ? `changed ${key}` : `deleted ${key}`, faultClass });
    for (const key of is.keys()) if (!was.has(key)) this.unownedWrites.push({ at, what: `created ${key}`, faultClass });
  }
}
