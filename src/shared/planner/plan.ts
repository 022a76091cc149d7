/**
 * The reconcile planner: what ARM says (scale set state + listing) against what Consul holds
 * (`actual`) → the registrations, updates and deregistrations that make Consul match, and the
 * things deliberately left alone (`skipped`, each with a reason code from `skip-reasons.ts`).
 *
 * PURE: no I/O, no clock, no randomness; the same input in any order gives the same plan, and a
 * plan applied then planned again plans nothing (removals held back by the cap excepted).
 *
 * Rules, by scale set state:
 * - `unknown`: nothing at all. Unknown is not empty; there is no data to act on.
 * - `not-found` (the scale set is confirmed gone): every owned node is deregistered as `gone`,
 *   uncapped. The caller must not pass it on one 404: reconcile-scale-set.ts asks ARM a second
 *   time after a pause and, in the timer sweep, also requires the scale set to be missing from the
 *   sweep's own listing (one 404 is not proof; issue 9, D1).
 * - `left-mesh` (the scale set's tags no longer name a service): every owned node is deregistered
 *   as `out-of-scope`. Also uncapped: the scale set's own tags say so, a positive statement that a
 *   confirmation GET could never "confirm" further.
 * - `in-mesh`:
 *   - listing `unknown`, or complete with zero instances while capacity > 0 → nothing at all;
 *   - desired and absent → register, unless tombstoned, being deleted (no point registering a node
 *     only to drain it), or the name is held by a node this plan must not touch;
 *   - desired and present but different → update, with `changes` saying what differs;
 *   - present in Consul, instance still listed but not desired → `out-of-scope` when the scale set
 *     names no service any more; otherwise (no private IP, conflicting listing) kept as it is:
 *     missing data is no reason to remove;
 *   - present in Consul, instance absent from the complete listing → `gone` when ARM confirmed
 *     it (`confirmedGone`) or the node was already draining (we saw it Deleting); kept when ARM
 *     answered its GET with the instance (`confirmedPresent`: one listing is not proof, a page
 *     may have lost it); otherwise (not asked, or ARM did not answer) capped per service
 *     (`removal-cap.ts`);
 *   - a listed instance in `confirmedGone` is treated as absent (the 404 is newer than the listing).
 *
 * Actions come registers first, then updates, then deregisters (make before break), each group
 * sorted by node name.
 */
import { InvalidInputError } from '../errors';
import type { DesiredNode, InstanceListing, MeshScaleSet, OwnedNode, PlanAction, PlanSkip, ReconcilePlan } from '../model';
import { NODE_META, isOwnedNodeMeta } from '../ownership';
import { desiredNodes, nodeNameOf } from './desired-state';
import { nodeChanges } from './node-diff';
import { sortedSkips } from './order';
import { applyRemovalCap } from './removal-cap';
import { SKIP, WHOLE_SCALE_SET, skip } from './skip-reasons';
import { compareStrings } from '../compare-strings';

export type ScaleSetState = 'in-mesh' | 'left-mesh' | 'not-found' | 'unknown';

export interface PlanInput {
  /** Normalised (lower-case) ARM ID of the scale set being planned. */
  readonly scaleSetId: string;
  readonly scaleSetState: ScaleSetState;
  /** Required when `scaleSetState` is `in-mesh`; ignored otherwise. */
  readonly scaleSet?: MeshScaleSet;
  /** Read only when `scaleSetState` is `in-mesh`. */
  readonly listing: InstanceListing;
  /** Owned nodes of this scale set as Consul holds them. Anything else in here is skipped, never touched. */
  readonly actual: readonly OwnedNode[];
  /**
   * Node names that must not be registered: removed recently, before this listing started (the
   * registry leaves out tombstones older than the listing, consul/tombstone.ts).
   */
  readonly tombstones: ReadonlySet<string>;
  /** Instance resource IDs ARM answered 404 for (any case). */
  readonly confirmedGone: ReadonlySet<string>;
  /** Instance resource IDs whose GET ARM answered with the instance after the listing (any case). Default none. */
  readonly confirmedPresent?: ReadonlySet<string>;
  /** 0 < x ≤ 1: largest share of a service's instances removed unconfirmed in one run. */
  readonly maxRemovalShare: number;
}

export function planReconcile(input: PlanInput): ReconcilePlan {
  validate(input);
  const { owned, untouchable, skipped } = partitionActual(input);
  const plan = (actions: PlanAction[], more: readonly PlanSkip[] = []): ReconcilePlan => ({
    scaleSetId: input.scaleSetId,
    actions: ordered(actions),
    skipped: sortedSkips([...skipped, ...more]),
  });

  switch (input.scaleSetState) {
    case 'unknown':
      return plan([], [skip(WHOLE_SCALE_SET, SKIP.scaleSetUnknown, `could not tell whether ${input.scaleSetId} is in the mesh; nothing planned`)]);
    case 'not-found':
      return plan(owned.map((actual) => ({ kind: 'deregister', actual, because: 'gone' })));
    case 'left-mesh':
      return plan(owned.map((actual) => ({ kind: 'deregister', actual, because: 'out-of-scope' })));
    case 'in-mesh': {
      const result = planInMesh(input, input.scaleSet as MeshScaleSet, owned, untouchable);
      return plan(result.actions, result.skipped);
    }
  }
}

function planInMesh(
  input: PlanInput,
  scaleSet: MeshScaleSet,
  owned: readonly OwnedNode[],
  untouchable: ReadonlySet<string>,
): { actions: PlanAction[]; skipped: PlanSkip[] } {
  const { listing } = input;
  if (listing.status === 'unknown') {
    return { actions: [], skipped: [skip(WHOLE_SCALE_SET, SKIP.listingUnknown, `${listing.reason}; nothing planned`)] };
  }
  if (listing.instances.length === 0 && scaleSet.capacity > 0) {
    return {
      actions: [],
      skipped: [skip(WHOLE_SCALE_SET, SKIP.listingSuspiciouslyEmpty, `ARM listed no instance while capacity is ${scaleSet.capacity}; treated as unknown`)],
    };
  }

  const confirmedGone = new Set([...input.confirmedGone].map((id) => id.toLowerCase()));
  const isConfirmedGone = (resourceId: string): boolean => confirmedGone.has(resourceId.toLowerCase());
  const confirmedPresent = new Set([...(input.confirmedPresent ?? [])].map((id) => id.toLowerCase()));
  const ownedNames = new Set(owned.map((n) => n.node));
  const skipped: PlanSkip[] = [];
  const live = listing.instances.filter((instance) => {
    if (!isConfirmedGone(instance.resourceId)) return true;
    const node = nodeNameOf(instance);
    if (!ownedNames.has(node)) skipped.push(skip(node, SKIP.confirmedGone, `ARM answered 404 for ${instance.resourceId} after it was listed`));
    return false;
  });
  const desired = desiredNodes(scaleSet, live);
  skipped.push(...desired.skipped);
  const desiredByName = new Map(desired.nodes.map((n) => [n.node, n]));
  const listedNames = new Set(live.map(nodeNameOf));
  const namesNoService = scaleSet.services.length === 0;

  const actions: PlanAction[] = [];
  for (const node of desired.nodes) {
    if (ownedNames.has(node.node)) continue;
    const reason = registrationBlocker(node, input.tombstones, untouchable);
    if (reason) skipped.push(reason);
    else actions.push({ kind: 'register', desired: node });
  }

  const removalCandidates: OwnedNode[] = [];
  for (const actual of owned) {
    const want = desiredByName.get(actual.node);
    if (want) {
      const changes = nodeChanges(want, actual);
      if (changes.length > 0) actions.push({ kind: 'update', desired: want, actual, changes });
    } else if (listedNames.has(actual.node)) {
      // Still running in the scale set. Only the scale set's own tags can put it out of scope;
      // otherwise the reason it is not desired was recorded by desiredNodes and the node stays.
      if (namesNoService) actions.push({ kind: 'deregister', actual, because: 'out-of-scope' });
    } else if (isConfirmedGone(actual.instanceResourceId) || actual.draining) {
      actions.push({ kind: 'deregister', actual, because: 'gone' });
    } else if (confirmedPresent.has(actual.instanceResourceId.toLowerCase())) {
      skipped.push(skip(actual.node, SKIP.stillInArm, `the listing lacked ${actual.instanceResourceId}, but ARM still answers its GET; kept`));
    } else {
      removalCandidates.push(actual);
    }
  }

  const { allowed, capped } = applyRemovalCap(removalCandidates, owned, input.maxRemovalShare);
  for (const actual of allowed) actions.push({ kind: 'deregister', actual, because: 'gone' });
  for (const c of capped) {
    skipped.push(
      skip(
        c.node.node,
        SKIP.removalCap,
        `service ${c.service} may lose at most ${c.limit} of ${c.registered} registered instances unconfirmed this run (maxRemovalShare ${input.maxRemovalShare}); confirm ${c.node.instanceResourceId} with ARM`,
      ),
    );
  }
  return { actions, skipped };
}

function registrationBlocker(node: DesiredNode, tombstones: ReadonlySet<string>, untouchable: ReadonlySet<string>): PlanSkip | undefined {
  if (untouchable.has(node.node)) return skip(node.node, SKIP.nameTaken, 'a node with this name exists in Consul without being ours for this scale set');
  if (tombstones.has(node.node)) return skip(node.node, SKIP.tombstoned, `${node.instanceResourceId} was removed recently; a stale listing must not bring it back`);
  if (node.draining) return skip(node.node, SKIP.deleting, `${node.instanceResourceId} is being deleted`);
  return undefined;
}

/** Splits `actual` into this scale set's owned nodes and everything this plan must leave alone. */
function partitionActual(input: PlanInput): { owned: OwnedNode[]; untouchable: Set<string>; skipped: PlanSkip[] } {
  const scaleSetId = input.scaleSetId.toLowerCase();
  const owned: OwnedNode[] = [];
  const untouchable = new Set<string>();
  const skipped: PlanSkip[] = [];
  for (const node of input.actual) {
    if (!isOwnedNodeMeta(node.nodeMeta)) {
      untouchable.add(node.node);
      skipped.push(skip(node.node, SKIP.notOwned, 'node lacks the vmss-mesh ownership marks'));
    } else if ((node.nodeMeta[NODE_META.scaleSetId] ?? '').toLowerCase() !== scaleSetId) {
      untouchable.add(node.node);
      skipped.push(skip(node.node, SKIP.otherScaleSet, `node belongs to ${node.nodeMeta[NODE_META.scaleSetId] ?? 'no scale set'}`));
    } else {
      owned.push(node);
    }
  }
  const seen = new Set<string>();
  for (const node of owned) {
    if (seen.has(node.node)) throw new InvalidInputError(`node ${node.node} appears more than once`, 'actual');
    seen.add(node.node);
  }
  owned.sort((a, b) => compareStrings(a.node, b.node));
  return { owned, untouchable, skipped };
}

function validate(input: PlanInput): void {
  const share = input.maxRemovalShare;
  if (typeof share !== 'number' || !Number.isFinite(share) || share <= 0 || share > 1) {
    throw new InvalidInputError(`must be a number with 0 < x ≤ 1, got ${String(share)}`, 'maxRemovalShare');
  }
  if (!input.scaleSetId) throw new InvalidInputError('must not be empty', 'scaleSetId');
  if (input.scaleSetState === 'in-mesh') {
    if (!input.scaleSet) throw new InvalidInputError('is required when scaleSetState is in-mesh', 'scaleSet');
    if (input.scaleSet.ref.id.toLowerCase() !== input.scaleSetId.toLowerCase()) {
      throw new InvalidInputError(`names ${input.scaleSet.ref.id}, not ${input.scaleSetId}`, 'scaleSet.ref.id');
    }
  }
}

const KIND_ORDER: Record<PlanAction['kind'], number> = { register: 0, update: 1, deregister: 2 };

function ordered(actions: readonly PlanAction[]): PlanAction[] {
  return [...actions].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareStrings(nodeOf(a), nodeOf(b)));
}

function nodeOf(action: PlanAction): string {
  return action.kind === 'register' ? action.desired.node : action.actual.node;
}
