/**
 * Plan actions → transaction "units": the operations of one node that must commit together (a
 * node never ends up half-written), plus standalone tombstone expiries. Pure: the session decides
 * batching and what to do with failures.
 *
 * Which operations each action writes, what guards them and why (shared nodes are released, lifted
 * tombstones, what Consul cannot guard): docs/consul-writes.md.
 */
import { InvalidInputError } from '../errors';
import type { DesiredNode, DesiredService, OwnedNode, PlanSkip, ReconcilePlan } from '../model';
import { AZURE_CHECK_ID, AZURE_CHECK_NAME, MAINTENANCE_CHECK_ID, MAINTENANCE_CHECK_NAME, NODE_META, OWNED_NODE_META, SERVICE_TAG, tombstoneKey } from '../ownership';
import type { ReleasedNode } from './owned-reader';
import { splitNodeMeta } from './owned-reader';
import { SKIP, skip } from '../planner/skip-reasons';
import { checkOps, kvOps, nodeOps, serviceOps } from './txn-ops';
import type { TxnOp } from './txn-ops';

export const MAINTENANCE_NOTES = 'vmss-mesh: the Azure instance is being deleted; draining';

export interface TombstoneValue {
  readonly deletedAt: number;
  readonly listedAt: number;
  readonly runId: string;
  readonly instanceResourceId: string;
}

export interface ExpiredTombstone {
  readonly node: string;
  readonly key: string;
  readonly modifyIndex: number;
}

export interface UnitContext {
  readonly scaleSetId: string;
  readonly kvPrefix: string;
  readonly actual: ReadonlyMap<string, OwnedNode>;
  readonly tombstones: ReadonlySet<string>;
  readonly expiredTombstones: readonly ExpiredTombstone[];
  /** Live tombstones this run's listing is fresher than (tombstone.ts): not in `tombstones`. */
  readonly liftedTombstones: readonly ExpiredTombstone[];
  /** Nodes of this scale set we released (docs/consul-writes.md), by name; none when absent. */
  readonly released?: ReadonlyMap<string, ReleasedNode>;
  readonly now: number;
  readonly listedAt: number;
  readonly runId: string;
}

export interface TxnUnit {
  readonly node: string;
  readonly kind: 'register' | 'update' | 'deregister' | 'expire-tombstone';
  readonly ops: readonly TxnOp[];
  /** Service names whose endpoint set this unit changes. */
  readonly changedServices: readonly string[];
  readonly tombstoneWritten: boolean;
  readonly tombstonesExpired: number;
  /** Node count after/before: +1 register, -1 deregister, 0 otherwise. */
  readonly nodeDelta: number;
  /** What the node is once the unit commits (register, update). */
  readonly desired?: DesiredNode;
}

export interface PlannedUnits {
  readonly units: TxnUnit[];
  /** Actions the registry refused to carry out, with the reason (never silent). */
  readonly skipped: PlanSkip[];
  /** Update actions that turned out to change nothing. */
  readonly unchanged: number;
}

export function planUnits(plan: ReconcilePlan, ctx: UnitContext): PlannedUnits {
  if (plan.scaleSetId.toLowerCase() !== ctx.scaleSetId) {
    throw new InvalidInputError(`the plan is for ${plan.scaleSetId} but this session reconciles ${ctx.scaleSetId}`, 'plan.scaleSetId');
  }
  const seen = new Set<string>();
  const units: TxnUnit[] = [];
  const skipped: PlanSkip[] = [];
  let unchanged = 0;
  const expiredByNode = new Map(ctx.expiredTombstones.map((t) => [t.node, t]));
  const liftedByNode = new Map(ctx.liftedTombstones.map((t) => [t.node, t]));

  plan.actions.forEach((action, i) => {
    const node = action.kind === 'deregister' ? action.actual.node : action.desired.node;
    if (seen.has(node)) throw new InvalidInputError(`node ${node} appears in more than one action`, `plan.actions[${i}]`);
    seen.add(node);
    const actual = ctx.actual.get(node);
    if (action.kind === 'register') {
      if (actual) return void skipped.push(skip(node, SKIP.nameTaken, 'already registered by vmss-mesh for this scale set (read after the claim)'));
      if (ctx.tombstones.has(node)) return void skipped.push(skip(node, SKIP.tombstoned, 'removed recently; a registration from this listing would bring it back'));
      const expired = expiredByNode.get(node);
      if (expired) expiredByNode.delete(node);
      // A tombstone is expired, lifted or live (registry.readTombstones), never two of them.
      units.push(registerUnit(checkedDesired(action.desired, ctx, i), ctx, expired, liftedByNode.get(node)));
      return;
    }
    if (!actual) return void skipped.push(skip(node, SKIP.notOwned, `not an owned node of ${ctx.scaleSetId} in Consul (read after the claim)`));
    if (action.kind === 'update') {
      const unit = updateUnit(checkedDesired(action.desired, ctx, i), actual, ctx);
      if (unit) units.push(unit);
      else unchanged += 1;
      return;
    }
    // A fresh tombstone replaces an expired one of the same node.
    if (action.because === 'gone') expiredByNode.delete(node);
    units.push(deregisterUnit(actual, action.because === 'gone', ctx));
  });

  // Expired tombstones not reused by a registration are simply cleaned up, before anything else.
  const expiries = [...expiredByNode.values()].map(
    (t): TxnUnit => ({ node: t.node, kind: 'expire-tombstone', ops: [kvOps.deleteCas(t.key, t.modifyIndex)], changedServices: [], tombstoneWritten: false, tombstonesExpired: 1, nodeDelta: 0 }),
  );
  return { units: [...expiries, ...units], skipped, unchanged };
}

/** The node meta we write: the planner's, with our marks and this scale set enforced. */
export function nodeMetaFor(desired: DesiredNode, scaleSetId: string): Record<string, string> {
  return { ...desired.nodeMeta, ...OWNED_NODE_META, [NODE_META.scaleSetId]: scaleSetId };
}

function serviceFor(service: DesiredService): DesiredService {
  return service.tags.includes(SERVICE_TAG) ? service : { ...service, tags: [...service.tags, SERVICE_TAG] };
}

function checkedDesired(desired: DesiredNode, ctx: UnitContext, i: number): DesiredNode {
  const claimed = desired.nodeMeta[NODE_META.scaleSetId];
  if (claimed !== undefined && claimed.toLowerCase() !== ctx.scaleSetId) {
    throw new InvalidInputError(`node ${desired.node} belongs to scale set ${claimed}, not ${ctx.scaleSetId}`, `plan.actions[${i}].desired.nodeMeta`);
  }
  const ids = new Set<string>();
  for (const s of desired.services) {
    if (ids.has(s.id)) throw new InvalidInputError(`node ${desired.node} has two services with ID ${s.id}`, `plan.actions[${i}].desired.services`);
    ids.add(s.id);
  }
  return desired;
}

function azureCheck(node: string, desired: DesiredNode): TxnOp {
  return checkOps.set(node, { id: AZURE_CHECK_ID, name: AZURE_CHECK_NAME, status: desired.azureCheck.status, output: desired.azureCheck.output });
}

function maintenanceCheck(node: string): TxnOp {
  return checkOps.set(node, { id: MAINTENANCE_CHECK_ID, name: MAINTENANCE_CHECK_NAME, status: 'critical', output: '', notes: MAINTENANCE_NOTES });
}

/** `expired` / `lifted`: this node's tombstone of that kind, deleted at its read index first. */
function registerUnit(desired: DesiredNode, ctx: UnitContext, expired: ExpiredTombstone | undefined, lifted: ExpiredTombstone | undefined): TxnUnit {
  const replaced = expired ?? lifted;
  const node = desired.node;
  const tombstone = tombstoneKey(ctx.kvPrefix, ctx.scaleSetId, node);
  const ops: TxnOp[] = [];
  // A tombstone rewritten since we read it (a newer removal) fails the delete-cas; the check names
  // the tombstone in Consul's error, which the session reports as `tombstoned`.
  if (replaced) ops.push(kvOps.deleteCas(replaced.key, replaced.modifyIndex), kvOps.checkNotExists(tombstone));
  const meta = nodeMetaFor(desired, ctx.scaleSetId);
  const prior = ctx.released?.get(node);
  if (prior && prior.instanceResourceId === desired.instanceResourceId.toLowerCase()) {
    ops.push(nodeOps.cas(node, desired.address, { ...prior.foreignMeta, ...meta }, prior.modifyIndex));
  } else {
    ops.push(nodeOps.cas(node, desired.address, meta, 0));
  }
  for (const service of desired.services) ops.push(serviceOps.set(node, serviceFor(service)));
  ops.push(azureCheck(node, desired));
  if (desired.draining) ops.push(maintenanceCheck(node));
  return {
    node,
    kind: 'register',
    ops,
    changedServices: desired.services.map((s) => s.name),
    tombstoneWritten: false,
    tombstonesExpired: expired ? 1 : 0,
    nodeDelta: 1,
    desired,
  };
}

function updateUnit(desired: DesiredNode, actual: OwnedNode, ctx: UnitContext): TxnUnit | null {
  const node = desired.node;
  const ours = nodeMetaFor(desired, ctx.scaleSetId);
  const heldMeta = splitNodeMeta(actual.nodeMeta, ours);
  const meta = { ...actual.foreign?.nodeMeta, ...heldMeta.foreign, ...ours };
  const nodeChanged = desired.address !== actual.address || !sameRecord(ours, heldMeta.ours);
  const checkChanged = desired.azureCheck.status !== actual.azureCheck.status || desired.azureCheck.output !== actual.azureCheck.output;
  const drainChanged = desired.draining !== actual.draining;
  const serviceOpsList: TxnOp[] = [];
  const changedNames = new Set<string>();
  const held = new Map(actual.services.map((s) => [s.id, s]));
  for (const wanted of desired.services.map(serviceFor)) {
    const have = held.get(wanted.id);
    held.delete(wanted.id);
    if (have && sameService(wanted, have)) continue;
    serviceOpsList.push(serviceOps.set(node, wanted));
    changedNames.add(wanted.name);
    if (have) changedNames.add(have.name);
  }
  for (const stale of held.values()) {
    serviceOpsList.push(serviceOps.delete(node, stale.id));
    changedNames.add(stale.name);
  }
  if (!nodeChanged && !checkChanged && !drainChanged && serviceOpsList.length === 0) return null;

  // The Node cas comes first and always: it guards the whole unit against a node changed behind
  // our back (re-registered by hand without our marks, for instance) since we read it.
  const ops: TxnOp[] = [nodeOps.cas(node, desired.address, meta, actual.nodeModifyIndex), ...serviceOpsList];
  if (checkChanged) ops.push(azureCheck(node, desired));
  if (drainChanged) ops.push(desired.draining ? maintenanceCheck(node) : checkOps.delete(node, MAINTENANCE_CHECK_ID));
  // Address, zone, health and drain are part of every endpoint on the node.
  if (nodeChanged || checkChanged || drainChanged) {
    for (const s of [...desired.services, ...actual.services]) changedNames.add(s.name);
  }
  return { node, kind: 'update', ops, changedServices: [...changedNames], tombstoneWritten: false, tombstonesExpired: 0, nodeDelta: 0, desired };
}

function deregisterUnit(actual: OwnedNode, gone: boolean, ctx: UnitContext): TxnUnit {
  const shared = (actual.foreign?.serviceIds.length ?? 0) > 0 || (actual.foreign?.checkIds.length ?? 0) > 0;
  const ops: TxnOp[] = shared ? releaseOps(actual, ctx.runId) : [nodeOps.deleteCas(actual.node, actual.nodeModifyIndex)];
  if (gone) {
    const value: TombstoneValue = { deletedAt: ctx.now, listedAt: ctx.listedAt, runId: ctx.runId, instanceResourceId: actual.instanceResourceId };
    ops.push(kvOps.set(tombstoneKey(ctx.kvPrefix, ctx.scaleSetId, actual.node), JSON.stringify(value)));
  }
  return {
    node: actual.node,
    kind: 'deregister',
    ops,
    changedServices: actual.services.map((s) => s.name),
    tombstoneWritten: gone,
    tombstonesExpired: 0,
    nodeDelta: -1,
  };
}

/**
 * Our entries off a shared node, the node and everything else left in place. The Node cas opens the
 * unit as in an update: it fails when the node changed since we read it, it drops our
 * `external-source` mark so the node is no longer ours, and it marks the node released by this run
 * so that only such a node is ever taken back (see the header for why).
 */
function releaseOps(actual: OwnedNode, runId: string): TxnOp[] {
  const { ours, foreign } = splitNodeMeta(actual.nodeMeta);
  const kept = Object.fromEntries(Object.entries(ours).filter(([key]) => key !== NODE_META.externalSource));
  return [
    nodeOps.cas(actual.node, actual.address, { ...actual.foreign?.nodeMeta, ...foreign, ...kept, [NODE_META.released]: runId }, actual.nodeModifyIndex),
    ...actual.services.map((s) => serviceOps.delete(actual.node, s.id)),
    checkOps.delete(actual.node, AZURE_CHECK_ID),
    checkOps.delete(actual.node, MAINTENANCE_CHECK_ID),
  ];
}

function sameService(a: DesiredService, b: DesiredService): boolean {
  const tags = (t: readonly string[]): string => [...new Set(t)].sort().join('\u0000');
  return a.name === b.name && a.port === b.port && tags(a.tags) === tags(b.tags) && sameRecord(a.meta, b.meta);
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}
