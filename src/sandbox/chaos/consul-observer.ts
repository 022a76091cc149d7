/**
 * Watches every write the Consul double commits (its commit observer) for the chaos soak's
 * invariants on Consul:
 * - wrongful removal: a node of an instance ARM lists as running is deregistered (or released);
 * - wrongful flip: the node of an instance ARM has shown running and healthy goes from passing
 *   to critical or to maintenance;
 * - zombie registration: a commit registers an instance ARM has shown gone, or marks passing one
 *   ARM has shown not live;
 * - unowned write: anything the mesh does not own changes.
 * Nodes are matched to ARM by their instance meta (an IP can be handed to a new instance). Judged
 * synchronously at the commit, so "ARM's state at that time" is exact: the ARM world lives in the
 * same process. A flip or a zombie is judged only once ARM has shown the instance's state for
 * longer than `graceMs`, so a write that raced an ARM change by a few milliseconds is not one.
 */
import type { CommitRecord, ConsulDoubleState, WorldSnapshot } from '../consul-double';
import { AZURE_CHECK_ID, ESM_NODE_CHECKS, MAINTENANCE_CHECK_ID, NODE_META, SERVICE_TAG, isOwnedNodeMeta, isOwnedOrReleasedNodeMeta } from '../../shared/ownership';

/** What ARM says about one instance now, and since when. */
export interface ArmInstanceState {
  /** ARM lists it (in any state). */
  readonly present: boolean;
  /** Running (Succeeded or Updating): its node must stay registered. */
  readonly running: boolean;
  /** Running and healthy: Consul must say passing. */
  readonly live: boolean;
  /** Since when it has been live (when `live`), else since when it has not been (gone included); ms since the epoch. */
  readonly since: number;
  readonly description: string;
}

export interface Judged {
  readonly at: number;
  readonly node: string;
  readonly address: string;
  /** What ARM said about the instance at that moment, and for how long it had said so (ms). */
  readonly arm: string;
  readonly armForMs: number;
  readonly faultClass: string;
}

export type WrongfulRemoval = Judged;

export interface WrongfulFlip extends Judged {
  /** What Consul went to from passing. */
  readonly to: 'critical' | 'warning' | 'maintenance';
}

export interface ZombieRegistration extends Judged {
  /** What the commit did. */
  readonly what: 'registered' | 'marked passing';
}

export interface UnownedWrite {
  readonly at: number;
  readonly what: string;
  readonly faultClass: string;
}

export interface ObserverOptions {
  /** ARM's view of the instance with this resource ID (lower case, as in our node meta). */
  readonly armInstance: (instanceResourceId: string) => ArmInstanceState;
  /** The fault class to blame for what happens now. */
  readonly currentClass: () => string;
  /** The mesh's KV prefix (default `vmss-mesh`). */
  readonly kvPrefix?: string;
  /** How long ARM must have shown a state before a write against it is judged (default 2000 ms). */
  readonly graceMs?: number;
  readonly now?: () => number;
}

/** A check on a mesh node that is ours: our node checks, consul-esm's, or a check of one of our tagged services. */
function isOurCheck(check: WorldSnapshot['checks'][number], ourServiceIds: ReadonlySet<string>): boolean {
  if (check.serviceId === '') return check.checkId === AZURE_CHECK_ID || check.checkId === MAINTENANCE_CHECK_ID || ESM_NODE_CHECKS.has(check.checkId);
  return ourServiceIds.has(check.serviceId);
}

/**
 * Everything in a snapshot the mesh does not own, one comparable string per entry: nodes without
 * our marks with all they carry; on our (or released) nodes, services without our tag and checks
 * that are not ours; KV outside our prefix.
 */
export function foreignView(snapshot: WorldSnapshot, kvPrefix = 'vmss-mesh'): Map<string, string> {
  const view = new Map<string, string>();
  const meshNodes = new Set(snapshot.nodes.filter((n) => isOwnedOrReleasedNodeMeta(n.meta)).map((n) => n.node));
  // Our services, by node: tagged services on our nodes.
  const ourServices = new Map<string, Set<string>>();
  for (const s of snapshot.services) {
    if (meshNodes.has(s.node) && s.tags.includes(SERVICE_TAG)) ourServices.set(s.node, (ourServices.get(s.node) ?? new Set()).add(s.id));
    else view.set(`service ${s.node}/${s.id}`, JSON.stringify(s));
  }
  for (const n of snapshot.nodes) if (!meshNodes.has(n.node)) view.set(`node ${n.node}`, JSON.stringify(n));
  for (const c of snapshot.checks) {
    if (meshNodes.has(c.node) && isOurCheck(c, ourServices.get(c.node) ?? new Set())) continue;
    view.set(`check ${c.node}/${c.checkId}`, JSON.stringify(c));
  }
  for (const e of snapshot.kv) if (e.key !== kvPrefix && !e.key.startsWith(`${kvPrefix}/`)) view.set(`kv ${e.key}`, JSON.stringify(e));
  return view;
}

/** How two foreign views differ: one line per entry changed, deleted or created. */
export function foreignChanges(was: ReadonlyMap<string, string>, is: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [key, value] of was) if (is.get(key) !== value) out.push(is.has(key) ? `changed ${key}` : `deleted ${key}`);
  for (const key of is.keys()) if (!was.has(key)) out.push(`created ${key}`);
  return out;
}

type ConsulHealth = 'passing' | 'warning' | 'critical' | 'maintenance';

interface Registration {
  readonly address: string;
  readonly instanceId: string;
  readonly health: ConsulHealth;
}

/** Our registrations (owned nodes that carry a mesh service), by node, with what Consul says of them. */
export function registrations(snapshot: WorldSnapshot): Map<string, Registration> {
  const withService = new Set(snapshot.services.filter((s) => s.tags.includes(SERVICE_TAG)).map((s) => s.node));
  const out = new Map<string, Registration>();
  for (const n of snapshot.nodes) {
    if (!isOwnedNodeMeta(n.meta) || !withService.has(n.node)) continue;
    const checks = snapshot.checks.filter((c) => c.node === n.node && c.serviceId === '');
    const azure = checks.find((c) => c.checkId === AZURE_CHECK_ID)?.status;
    const health: ConsulHealth = checks.some((c) => c.checkId === MAINTENANCE_CHECK_ID) ? 'maintenance' : azure === 'passing' || azure === 'warning' ? azure : 'critical';
    out.set(n.node, { address: n.address, instanceId: (n.meta[NODE_META.instanceId] ?? '').toLowerCase(), health });
  }
  return out;
}

export interface CommitJudgement {
  readonly removals: WrongfulRemoval[];
  readonly flips: WrongfulFlip[];
  readonly zombies: ZombieRegistration[];
  readonly unownedWrites: UnownedWrite[];
}

/** Judges one commit against ARM's state now (`at`). */
export function judgeCommit({ before, after }: CommitRecord, options: ObserverOptions, at: number): CommitJudgement {
  const faultClass = options.currentClass();
  const grace = options.graceMs ?? 2_000;
  const out: CommitJudgement = { removals: [], flips: [], zombies: [], unownedWrites: [] };
  const was = registrations(before);
  const is = registrations(after);
  for (const [node, old] of was) {
    const now = is.get(node);
    const arm = options.armInstance(now?.instanceId ?? old.instanceId);
    const judged = { at, node, address: (now ?? old).address, arm: arm.description, armForMs: at - arm.since, faultClass };
    if (!now) {
      if (arm.running) out.removals.push(judged);
      continue;
    }
    if (old.health === 'passing' && now.health !== 'passing' && arm.live && at - arm.since > grace) out.flips.push({ ...judged, to: now.health });
  }
  for (const [node, now] of is) {
    const old = was.get(node);
    if (old?.health === 'passing' && old.instanceId === now.instanceId) continue;
    const arm = options.armInstance(now.instanceId);
    const judged = { at, node, address: now.address, arm: arm.description, armForMs: at - arm.since, faultClass };
    const stale = at - arm.since > grace;
    if (!old && !arm.present && stale) out.zombies.push({ ...judged, what: 'registered' });
    else if (now.health === 'passing' && !arm.live && stale) out.zombies.push({ ...judged, what: 'marked passing' });
  }
  const kvPrefix = options.kvPrefix ?? 'vmss-mesh';
  for (const what of foreignChanges(foreignView(before, kvPrefix), foreignView(after, kvPrefix))) out.unownedWrites.push({ at, what, faultClass });
  return out;
}

export class ConsulObserver {
  readonly removals: WrongfulRemoval[] = [];
  readonly flips: WrongfulFlip[] = [];
  readonly zombies: ZombieRegistration[] = [];
  readonly unownedWrites: UnownedWrite[] = [];
  commits = 0;
  private readonly stop: () => void;

  constructor(
    state: ConsulDoubleState,
    private readonly options: ObserverOptions,
  ) {
    this.stop = state.observeCommits((commit) => this.judge(commit));
  }

  close(): void {
    this.stop();
  }

  private judge(commit: CommitRecord): void {
    this.commits += 1;
    const judged = judgeCommit(commit, this.options, (this.options.now ?? Date.now)());
    this.removals.push(...judged.removals);
    this.flips.push(...judged.flips);
    this.zombies.push(...judged.zombies);
    this.unownedWrites.push(...judged.unownedWrites);
  }
}
