/**
 * One reconcile of one scale set: applies a plan as a series of transactions, each fenced by a KV
 * `check-index` on the scale set's marker at the index our claim produced. When a newer
 * reconcile claims the scale set, our next transaction fails on that first operation and the run
 * stops with SupersededError; what it already committed is whole nodes only (a node's operations
 * never span two transactions) and is visible to the newer run, which read after its own claim.
 *
 * Any other failure inside a transaction is pinned to the node it belongs to: that node is skipped
 * with a reason (a hand-registered node holding the name, a node changed behind our back, …) and
 * the rest of the batch is retried without it.
 *
 * A session may also start unclaimed (registry.ts, "deferred claim"): the marker showed a finished
 * run, so no fence was valid, and the state was read without claiming. Then a plan that writes
 * nothing costs one marker write (claim and summary in one CAS at the index read) and a plan that
 * writes claims at that index before its first batch. Either CAS losing means someone claimed after
 * our read: ClaimLostError, and the caller begins again with the claim first.
 */
import { ConfigError, InvalidInputError, SupersededError } from '../errors';
import type { DesiredNode, OwnedNode, PlanSkip, ReconcilePlan } from '../model';
import { isOwnedNodeMeta } from '../ownership';
import { SKIP, skip } from '../planner/skip-reasons';
import { ClaimLostError } from '../reconcile/ports';
import type { ReconcileSession } from '../reconcile/ports';
import type { MarkerValue, RecordedScaleSetState, ReconcileSummary } from './marker';
import { serializeMarker } from './marker';
import { NOTHING_SEEN } from './owned-reader';
import type { ReleasedNode, SeenBeyondOurs } from './owned-reader';
import { pushedSets } from './pushed-sets';
import type { PushedSets } from './pushed-sets';
import type { ExpiredTombstone, TxnUnit } from './plan-units';
import { planUnits } from './plan-units';
import type { ConsulTransport } from './transport';
import { encodePath, parseAnswer } from './transport';
import { kvOps } from './txn-ops';
import type { TxnOp } from './txn-ops';
import * as wire from './wire';

/** Points where a reconcile can be paused by a test (or traced): before each Consul round trip that matters. */
export type ReconcileStep =
  | { readonly kind: 'read-marker'; readonly attempt: number }
  | { readonly kind: 'claim'; readonly attempt: number }
  | { readonly kind: 'read-actual' }
  | { readonly kind: 'batch'; readonly index: number }
  | { readonly kind: 'summary' };

export interface ReconcileHooks {
  /** Awaited before the step runs; `run` says which reconcile (scale set, run ID) it is. */
  beforeStep?(step: ReconcileStep, run: { readonly scaleSetId: string; readonly runId: string }): void | Promise<void>;
}

/** Skip codes of the registry itself (the planner's are in planner/skip-reasons.ts). */
export const REGISTRY_SKIP = {
  /** The node changed in Consul between our read and our write; the next reconcile looks again. */
  changedConcurrently: 'changed-concurrently',
  /** Consul refused the node's operations for another reason (the detail quotes Consul). */
  refused: 'consul-refused',
} as const;

export interface ApplyCounts {
  readonly registered: number;
  readonly updated: number;
  readonly deregistered: number;
  /** Update actions that turned out to need no write. */
  readonly unchanged: number;
  readonly skipped: number;
  readonly tombstonesWritten: number;
  readonly tombstonesExpired: number;
  /** Transactions committed. */
  readonly batches: number;
}

export interface ApplyResult {
  /**
   * Highest ModifyIndex reported by the committed transactions: exact for batches that write a
   * node, service, check or KV entry; Consul's txn API reports no index for pure deletions.
   * Relay pushes should carry the index `serviceEndpoints()` reads, not this one.
   */
  readonly committedIndex: number;
  /** Names of services whose endpoint set (membership, address, port, health, drain) changed. */
  readonly changedServices: readonly string[];
  readonly counts: ApplyCounts;
  readonly skipped: readonly PlanSkip[];
  /** False when a newer reconcile claimed the marker before our summary could be written. */
  readonly summaryWritten: boolean;
  /** Marker writes of this session: its claim (when not made by beginReconcile) and its summary. */
  readonly markerWrites: number;
  /**
   * The changed services' endpoint sets as Consul holds them after the commit, computed without a
   * read where this run can vouch for them (pushed-sets.ts); `toRead` names the others.
   */
  readonly pushed: PushedSets;
}

/**
 * How the session holds the scale set: `claimed` at the index beginReconcile's claim produced, or
 * `deferred`: not claimed, the state read after the marker showed a finished run at `markerIndex`.
 */
export type SessionClaim =
  | { readonly kind: 'claimed'; readonly index: number }
  | { readonly kind: 'deferred'; readonly markerIndex: number };

export interface SessionInit {
  readonly transport: ConsulTransport;
  readonly scaleSetId: string;
  readonly runId: string;
  readonly listedAt: number;
  readonly markerKey: string;
  readonly claim: SessionClaim;
  /** The marker value of our claim (written by beginReconcile, or by apply when deferred). */
  readonly claimed: MarkerValue;
  readonly kvPrefix: string;
  readonly txnBatchSize: number;
  readonly now: () => number;
  readonly hooks: ReconcileHooks;
  readonly actual: readonly OwnedNode[];
  readonly tombstones: ReadonlySet<string>;
  readonly expiredTombstones: readonly ExpiredTombstone[];
  /** Live tombstones written before this run's listing started (tombstone.ts); not in `tombstones`. */
  readonly liftedTombstones: readonly ExpiredTombstone[];
  /** Nodes of this scale set we released; a registration of the same instance takes them back. */
  readonly released?: readonly ReleasedNode[];
  /** What the read saw beyond our entries (owned-reader.ts); nothing when absent. */
  readonly seen?: SeenBeyondOurs;
}

export class ConsulReconcileSession implements ReconcileSession {
  readonly scaleSetId: string;
  readonly runId: string;
  readonly listedAt: number;
  readonly actual: readonly OwnedNode[];
  /**
   * Node names removed less than the tombstone TTL ago, except those removed before this run's
   * listing started (by more than TOMBSTONE_FRESH_LISTING_MARGIN_MS): a fresh listing is not stale.
   */
  readonly tombstones: ReadonlySet<string>;
  readonly liftedTombstones: ReadonlySet<string>;
  private readonly init: SessionInit;
  private applied = false;
  private fence: number | undefined;

  constructor(init: SessionInit) {
    this.init = init;
    this.scaleSetId = init.scaleSetId;
    this.runId = init.runId;
    this.listedAt = init.listedAt;
    this.fence = init.claim.kind === 'claimed' ? init.claim.index : undefined;
    this.actual = init.actual;
    this.tombstones = init.tombstones;
    this.liftedTombstones = new Set(init.liftedTombstones.map((t) => t.node));
  }

  /** ModifyIndex of the marker after our claim (the fence every transaction checks); undefined while unclaimed. */
  get claimIndex(): number | undefined {
    return this.fence;
  }

  /** True once this session holds a claim (or wrote its summary as one): it has set the marker's listing. */
  get claimed(): boolean {
    return this.fence !== undefined;
  }

  /**
   * Applies the plan, then records the summary on the marker (with `facts.scaleSetState`, what ARM
   * said about the scale set). Only once per session.
   */
  async apply(plan: ReconcilePlan, facts: { readonly scaleSetState?: RecordedScaleSetState } = {}): Promise<ApplyResult> {
    if (this.applied) throw new InvalidInputError('this reconcile session was already applied; begin a new one to apply another plan', 'session');
    this.applied = true;
    const { init } = this;
    const planned = planUnits(plan, {
      scaleSetId: this.scaleSetId,
      kvPrefix: init.kvPrefix,
      actual: new Map(this.actual.map((n) => [n.node, n])),
      tombstones: this.tombstones,
      expiredTombstones: init.expiredTombstones,
      liftedTombstones: init.liftedTombstones,
      released: new Map((init.released ?? []).map((n) => [n.node, n])),
      now: init.now(),
      listedAt: this.listedAt,
      runId: this.runId,
    });
    const skipped = [...planned.skipped];
    let markerWrites = 0;
    if (init.claim.kind === 'deferred') {
      // Nothing to write: the summary alone, claim and summary in one CAS at the index we read.
      if (planned.units.length === 0) {
        const summaryWritten = await this.writeSummary(this.summaryOf({ counts: emptyCounts(planned.unchanged, skipped.length), committedIndex: 0, instanceCount: this.actual.length }, facts), init.claim.markerIndex);
        if (!summaryWritten) throw this.claimLost();
        return { committedIndex: 0, changedServices: [], counts: emptyCounts(planned.unchanged, skipped.length), skipped, summaryWritten, markerWrites: 1, pushed: { sets: [], toRead: [] } };
      }
      this.fence = await this.claimAt(init.claim.markerIndex);
      markerWrites += 1;
    }
    const claimIndex = this.fence as number;
    const committed: TxnUnit[] = [];
    /** The index each committed unit's transaction reported (its marker check's, for pure deletions). */
    const unitIndexes = new Map<TxnUnit, number>();
    let committedIndex = 0;
    let batches = 0;
    const queue = packBatches(planned.units, init.txnBatchSize - 1, init.txnBatchSize);

    for (let attempt = 0; queue.length > 0; attempt += 1) {
      const batch = queue.shift() as TxnUnit[];
      await this.step({ kind: 'batch', index: attempt });
      const ops: TxnOp[] = [kvOps.checkIndex(init.markerKey, claimIndex), ...batch.flatMap((u) => u.ops)];
      const res = await init.transport.call({ method: 'PUT', path: '/txn', body: ops, accept: [409] });
      const answer = parseAnswer(wire.txnAnswer, res.body, 'txn');
      if (res.status !== 409) {
        batches += 1;
        committed.push(...batch);
        let batchIndex = 0;
        for (const r of answer.Results) batchIndex = Math.max(batchIndex, r.KV?.ModifyIndex ?? 0, r.Node?.ModifyIndex ?? 0, r.Service?.ModifyIndex ?? 0, r.Check?.ModifyIndex ?? 0);
        for (const unit of batch) unitIndexes.set(unit, batchIndex);
        committedIndex = Math.max(committedIndex, batchIndex);
        continue;
      }
      if (answer.Errors.some((e) => e.OpIndex === 0)) {
        throw new SupersededError(
          this.scaleSetId,
          `reconcile ${this.runId} of ${this.scaleSetId} was superseded while applying: a newer listing claimed the scale set (${batches} transaction(s) of this run had committed)`,
        );
      }
      throwIfDenied(answer);
      const failed = unitsOfErrors(batch, answer.Errors);
      if (failed.size === 0) {
        throw new InvalidInputError(`Consul rolled back a transaction without naming our operations: ${answer.Errors.map((e) => e.What).join('; ')}`);
      }
      for (const [unit, whats] of failed) skipped.push(await this.diagnose(unit, whats));
      const rest = batch.filter((u) => !failed.has(u));
      if (rest.length > 0) queue.unshift(rest);
    }

    const counts: ApplyCounts = {
      registered: committed.filter((u) => u.kind === 'register').length,
      updated: committed.filter((u) => u.kind === 'update').length,
      deregistered: committed.filter((u) => u.kind === 'deregister').length,
      unchanged: planned.unchanged,
      skipped: skipped.length,
      tombstonesWritten: committed.filter((u) => u.tombstoneWritten).length,
      tombstonesExpired: committed.reduce((sum, u) => sum + u.tombstonesExpired, 0),
      batches,
    };
    const changedServices = [...new Set(committed.flatMap((u) => u.changedServices))].sort();
    const instanceCount = this.actual.length + committed.reduce((sum, u) => sum + u.nodeDelta, 0);
    const summaryWritten = await this.writeSummary(this.summaryOf({ counts, committedIndex, instanceCount }, facts), claimIndex);
    markerWrites += 1;
    return { committedIndex, changedServices, counts, skipped, summaryWritten, markerWrites, pushed: this.pushedAfter(committed, unitIndexes, skipped, changedServices) };
  }

  /** Our nodes after the commit (what we read, changed by what committed), as endpoint sets. */
  private pushedAfter(committed: readonly TxnUnit[], unitIndexes: ReadonlyMap<TxnUnit, number>, skipped: readonly PlanSkip[], changedServices: readonly string[]): PushedSets {
    if (changedServices.length === 0) return { sets: [], toRead: [] };
    const nodes = new Map<string, DesiredNode>(this.actual.map((n) => [n.node, n]));
    const released = new Set((this.init.released ?? []).map((n) => n.node));
    const unsure = new Set(skipped.map((s) => s.node));
    // A service's index is that of the last transaction that changed it, as Consul's own answer
    // for the service reports it (the relay confirms a push with that answer).
    const serviceIndexes = new Map<string, number>();
    for (const unit of committed) {
      for (const name of unit.changedServices) serviceIndexes.set(name, Math.max(serviceIndexes.get(name) ?? 0, unitIndexes.get(unit) ?? 0));
      if (unit.kind === 'deregister') nodes.delete(unit.node);
      else if (unit.desired) nodes.set(unit.node, unit.desired);
      if (unit.kind === 'register' && released.has(unit.node)) unsure.add(unit.node);
    }
    return pushedSets(changedServices, { nodes, seen: this.init.seen ?? NOTHING_SEEN, unsure, serviceIndexes });
  }

  private summaryOf(
    done: { readonly counts: ApplyCounts; readonly committedIndex: number; readonly instanceCount: number },
    facts: { readonly scaleSetState?: RecordedScaleSetState },
  ): ReconcileSummary {
    const { counts } = done;
    return {
      runId: this.runId,
      listedAt: this.listedAt,
      finishedAt: this.init.now(),
      registered: counts.registered,
      updated: counts.updated,
      deregistered: counts.deregistered,
      skipped: counts.skipped,
      tombstonesWritten: counts.tombstonesWritten,
      tombstonesExpired: counts.tombstonesExpired,
      instanceCount: done.instanceCount,
      committedIndex: done.committedIndex,
      batches: counts.batches,
      ...(facts.scaleSetState ? { scaleSetState: facts.scaleSetState } : {}),
    };
  }

  /** The deferred claim: CAS at the index read; losing it means someone claimed after our read. */
  private async claimAt(markerIndex: number): Promise<number> {
    await this.step({ kind: 'claim', attempt: 1 });
    const res = await this.init.transport.call({
      method: 'PUT',
      path: '/txn',
      body: [kvOps.cas(this.init.markerKey, serializeMarker(this.init.claimed), markerIndex)],
      accept: [409],
    });
    const answer = parseAnswer(wire.txnAnswer, res.body, 'txn');
    throwIfDenied(answer);
    if (res.status === 409) throw this.claimLost();
    const index = answer.Results[0]?.KV?.ModifyIndex;
    if (!index) throw new InvalidInputError(`Consul's answer to the claim of ${this.scaleSetId} carries no ModifyIndex`);
    return index;
  }

  private claimLost(): ClaimLostError {
    return new ClaimLostError(`reconcile ${this.runId} of ${this.scaleSetId} read the state without a claim, and another reconcile claimed the scale set before it wrote; begin again with the claim first`);
  }

  private async step(step: ReconcileStep): Promise<void> {
    await this.init.hooks.beforeStep?.(step, { scaleSetId: this.scaleSetId, runId: this.runId });
  }

  /**
   * CAS on the marker at `index` (our claim, or the index read for a deferred claim): a newer claim
   * keeps its own value (we only lose the summary).
   */
  private async writeSummary(summary: ReconcileSummary, index: number): Promise<boolean> {
    await this.step({ kind: 'summary' });
    const value: MarkerValue = { ...this.init.claimed, lastReconcile: summary };
    const res = await this.init.transport.call({
      method: 'PUT',
      path: '/txn',
      body: [kvOps.cas(this.init.markerKey, serializeMarker(value), index)],
      accept: [409],
    });
    const answer = parseAnswer(wire.txnAnswer, res.body, 'txn');
    throwIfDenied(answer);
    if (res.status !== 409 && this.fence === undefined) this.fence = answer.Results[0]?.KV?.ModifyIndex ?? index;
    return res.status !== 409;
  }

  private async diagnose(unit: TxnUnit, whats: readonly string[]): Promise<PlanSkip> {
    const detail = whats.join('; ');
    if (unit.kind === 'register' && whats.some((w) => /^key ".*" exists$/.test(w))) {
      return skip(unit.node, SKIP.tombstoned, 'a tombstone for it was written after this run read them');
    }
    if (unit.kind === 'register' && whats.some((w) => w.startsWith('failed to set node'))) {
      const res = await this.init.transport.call({ method: 'GET', path: `/catalog/node/${encodePath(unit.node)}` });
      const holder = parseAnswer(wire.catalogNodeWithServices, res.body, `catalog node ${unit.node}`);
      if (holder && isOwnedNodeMeta(holder.Node.Meta)) {
        return skip(unit.node, SKIP.otherScaleSet, `the name is held by a vmss-mesh node of another scale set; left untouched`);
      }
      return skip(unit.node, SKIP.nameTaken, `a node with this name exists in Consul without vmss-mesh marks (registered by hand or by an agent); left untouched`);
    }
    if (whats.some((w) => w.startsWith('failed to set node') || w.startsWith('failed to delete node'))) {
      return { node: unit.node, reason: `${REGISTRY_SKIP.changedConcurrently}: the node changed in Consul after this run read it; the next reconcile will look again (${detail})` };
    }
    return { node: unit.node, reason: `${REGISTRY_SKIP.refused}: ${detail}` };
  }
}

function emptyCounts(unchanged: number, skipped: number): ApplyCounts {
  return { registered: 0, updated: 0, deregistered: 0, unchanged, skipped, tombstonesWritten: 0, tombstonesExpired: 0, batches: 0 };
}

/**
 * Greedy packing in plan order (registrations first: make before break). A unit never spans two
 * batches; `capacity` leaves room for the marker check that opens every batch.
 */
export function packBatches(units: readonly TxnUnit[], capacity: number, batchSize: number): TxnUnit[][] {
  const batches: TxnUnit[][] = [];
  let current: TxnUnit[] = [];
  let size = 0;
  for (const unit of units) {
    if (unit.ops.length > capacity) {
      throw new ConfigError(
        `node ${unit.node} needs ${unit.ops.length} operations plus the marker check, more than one transaction of ${batchSize} allows; raise the batch size`,
        'VMSS_MESH_TXN_BATCH_SIZE',
      );
    }
    if (size + unit.ops.length > capacity && current.length > 0) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(unit);
    size += unit.ops.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Maps each failed OpIndex back to its unit (index 0 is the marker check). */
function unitsOfErrors(batch: readonly TxnUnit[], errors: ReadonlyArray<{ OpIndex: number; What: string }>): Map<TxnUnit, string[]> {
  const owner: TxnUnit[] = [];
  for (const unit of batch) for (let i = 0; i < unit.ops.length; i += 1) owner.push(unit);
  const failed = new Map<TxnUnit, string[]>();
  for (const error of errors) {
    const unit = owner[error.OpIndex - 1];
    if (unit) failed.set(unit, [...(failed.get(unit) ?? []), error.What]);
  }
  return failed;
}

/** ACL denials inside a transaction come back as 409 errors, not 403: same meaning, same error. */
export function throwIfDenied(answer: wire.TxnAnswer): void {
  const denied = answer.Errors.find((e) => e.What.startsWith('Permission denied'));
  if (denied) throw new ConfigError(`Consul refused the ACL token inside a transaction: ${denied.What}`, 'CONSUL_HTTP_TOKEN');
}
