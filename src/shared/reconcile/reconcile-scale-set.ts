/**
 * One level-triggered reconcile of one scale set: ARM is listed first, then the scale set is
 * claimed in Consul (or, when its last run finished, read first and claimed only by the write:
 * consul/registry.ts, "deferred claim"), the pure planner decides, the registry applies, and
 * changed services are pushed to the relays. Idempotent: running it twice in a row changes nothing the second time.
 * Plan only (`ReconcileDeps.planOnly`, the CLI's `reconcile --dry-run`): the same reads and the same
 * planning, from a state read without a claim, ending before the first write.
 *
 * One 404 is not proof (principle 4; issue 9, D1). ARM answers 404 for a scale set that exists for
 * a moment during replication and region failover, and so can any proxy; taken at its word, that
 * one answer removed every instance of the scale set, uncapped. So "the scale set is gone" needs:
 * - a second GET, `confirmGoneDelayMs` (default 1.5 s) after the first 404, that answers 404 too
 *   (any other answer replaces the first: in the mesh, left it, or a throw that retries the
 *   trigger). Only for scale sets we hold entries for;
 * - and its absence from the listing of its resource group, another ARM route than the GET (one
 *   more read per real deletion). A scale set that listing contains is not gone whatever its GETs
 *   answer; the reconcile is `unknown` (retryable, nothing claimed, nothing removed) and a later
 *   run decides. (The timer sweep's own listing is not used for this: it may be minutes old by the
 *   time a scale set's turn comes.)
 * Only then is the plan's `not-found` state used, whose removals are uncapped.
 */
import { RunBudgetReadings, observeArmBudget, type BudgetReading } from '../azure/arm-budget';
import { SupersededError, errorMessage } from '../errors';
import type { InstanceListing, MeshScaleSet, PlanSkip, ReconcilePlan, ScaleSetRef } from '../model';
import { noRelayPublisher } from '../endpoints';
import type { EndpointPublisher, RelayPushResult } from '../endpoints';
import { planReconcile } from '../planner/plan';
import { SKIP, skipCode } from '../planner/skip-reasons';
import { ClaimLostError } from './ports';
import type { InventoryPort, ReconcileSession, ReconcileState, RegistryPort, ScaleSetLookup } from './ports';
import { compareStrings } from '../compare-strings';

export interface ReconcileDeps {
  readonly inventory: InventoryPort;
  readonly registry: RegistryPort;
  readonly publisher: EndpointPublisher;
  readonly maxRemovalShare: number;
  readonly now?: () => number;
  /** Wait between a scale set's 404 and the GET that confirms it (default DEFAULT_CONFIRM_GONE_DELAY_MS; checked by the Reconciler). */
  readonly confirmGoneDelayMs?: number;
  /**
   * Plan only (`vmss-mesh reconcile --dry-run`): ARM is read exactly as in a real run (the listing,
   * the second GET of a 404, the GETs that confirm removals), Consul is read without claiming
   * (`RegistryPort.readReconcileState`), the plan is made, and the run stops before its first
   * write: no claim, no marker, no tombstone, no relay push. Outcome `planned` or `unchanged`,
   * with the plan on the report.
   */
  readonly planOnly?: boolean;
  /** Put the plan on the report (`plan`) of runs that apply it too (the CLI shows it; the app's logs stay short). */
  readonly reportPlan?: boolean;
}

/** Long enough for a replica that briefly lost the scale set to catch up, short against Event Grid's 30 s. */
export const DEFAULT_CONFIRM_GONE_DELAY_MS = 1_500;


export type ReconcileOutcome =
  /** Consul changed (the counts say how). */
  | 'applied'
  /** Consul already matched ARM. */
  | 'unchanged'
  /** Plan only (`planOnly`): Consul differs from ARM; nothing was written, the plan is on the report. */
  | 'planned'
  /** The listing was unknown: nothing was removed, see `detail`. */
  | 'unknown'
  /** A newer reconcile of the same scale set owns the truth; this one stopped without writing. */
  | 'superseded'
  /** Not in the mesh and nothing of ours registered for it: nothing to do. */
  | 'not-in-mesh';

export interface ReconcileReport {
  readonly scaleSetId: string;
  /**
   * What started this run: the `source` it was given (through the coalescer, that of the request
   * that started it — a hint's reason such as `event:…`, or the sweep's, e.g. `timer`).
   */
  readonly source?: string;
  readonly outcome: ReconcileOutcome;
  readonly detail?: string;
  readonly registered: number;
  readonly updated: number;
  readonly deregistered: number;
  readonly skipped: readonly PlanSkip[];
  readonly instances?: number;
  readonly armCalls: number;
  /**
   * ARM's remaining-reads readings this run saw (`RunBudgetReadings`: the latest of each
   * subscription and header, and the lowest); a sweep that shares the run paces on them.
   */
  readonly armReadings?: readonly BudgetReading[];
  readonly committedIndex?: number;
  readonly changedServices: readonly string[];
  readonly pushes: readonly RelayPushResult[];
  readonly durationMs: number;
  /** What this run applied (or, plan only, would apply); with `planOnly` or `reportPlan` only. */
  readonly plan?: ReconcilePlan;
  /** Set with outcome `unknown` when asking ARM again later may answer (throttling, 5xx, network). */
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
}


/** Reconciles one scale set. Throws TransientError when ARM or Consul cannot be reached. */
export async function reconcileScaleSet(deps: ReconcileDeps, ref: ScaleSetRef, source: string): Promise<ReconcileReport> {
  const readings = new RunBudgetReadings();
  const { result, calls } = await observeArmBudget(readings, () => deps.inventory.measureCalls(() => reconcileMeasured(deps, ref, source)));
  return { ...result, source, armCalls: calls, armReadings: readings.list() };
}

async function reconcileMeasured(deps: ReconcileDeps, ref: ScaleSetRef, source: string): Promise<ReconcileReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const base = { scaleSetId: ref.id, registered: 0, updated: 0, deregistered: 0, skipped: [] as PlanSkip[], changedServices: [] as string[], pushes: [] as RelayPushResult[] };
  const finish = (rest: Partial<ReconcileReport> & { outcome: ReconcileOutcome }): ReconcileReport => ({
    ...base,
    ...rest,
    armCalls: 0,
    durationMs: now() - started,
  });

  // ARM first: the claim below records when this listing started, so an older listing can never win.
  const listedAt = now();
  let lookup: ScaleSetLookup = await deps.inventory.lookupScaleSet(ref);
  if (lookup.state === 'unknown') return finish({ outcome: 'unknown', detail: lookup.reason });
  // A scale set that is not (or no longer) in the mesh is still claimed when we ever knew it: the
  // claim fences off an older run that is still in flight and would register its instances.
  if (lookup.state !== 'in-mesh' && !(await deps.registry.knowsScaleSet(ref.id))) {
    return finish({ outcome: 'not-in-mesh', detail: lookup.state === 'left-mesh' ? lookup.reason : 'scale set not found in ARM' });
  }
  if (lookup.state === 'not-found') {
    // One 404 is not proof (see the header): ask again after a pause; the newer answer wins.
    await sleep(deps.confirmGoneDelayMs ?? DEFAULT_CONFIRM_GONE_DELAY_MS);
    lookup = await deps.inventory.lookupScaleSet(ref);
    if (lookup.state === 'unknown') return finish({ outcome: 'unknown', detail: lookup.reason });
    if (lookup.state === 'not-found' && (await deps.inventory.isListedInResourceGroup(ref))) {
      return finish({
        outcome: 'unknown',
        detail: `ARM answered 404 for ${ref.id} twice, yet listed it in its resource group; not treated as gone (nothing removed, the next sweep or its delete event decides)`,
        retryable: true,
      });
    }
  }
  const listing: InstanceListing =
    lookup.state === 'in-mesh'
      ? await deps.inventory.listInstances(lookup.scaleSet)
      : { status: 'complete', listedAt, instances: [] };

  // Unknown is not empty, and it is not a reason to claim the scale set either: a claim would fence
  // off a concurrent run that did get a complete listing.
  if (listing.status === 'unknown') {
    return finish({
      outcome: 'unknown',
      detail: listing.reason,
      ...(listing.retryable ? { retryable: true } : {}),
      ...(listing.retryAfterMs !== undefined ? { retryAfterMs: listing.retryAfterMs } : {}),
    });
  }

  const scaleSet: MeshScaleSet | undefined = lookup.state === 'in-mesh' ? lookup.scaleSet : undefined;
  const listed: ListedScaleSet = { ref, scaleSetState: lookup.state, scaleSet, listing, listedAt };
  if (deps.planOnly) {
    // The same plan as below, from the same reads, minus the claim: the run ends here.
    const state = await deps.registry.readReconcileState(ref.id, listedAt);
    const { plan, counts } = await planFromState(deps, listed, state);
    return finish({ ...counts, outcome: plan.actions.length > 0 ? 'planned' : 'unchanged', plan });
  }
  // A session that read without claiming (the marker showed a finished run) and then lost the race
  // to claim wrote nothing: begin again, claim first, and plan from what that session reads.
  let attempt: Attempt;
  try {
    attempt = await claimPlanApply(deps, listed, false);
  } catch (error) {
    if (!(error instanceof ClaimLostError)) throw error;
    attempt = await claimPlanApply(deps, listed, true);
  }
  if (attempt.kind === 'superseded') {
    return finish({ ...attempt.counts, outcome: 'superseded', detail: attempt.detail, ...(deps.reportPlan && attempt.plan ? { plan: attempt.plan } : {}) });
  }
  const { plan, counts, applied } = attempt;

  // The push is the relays' fast path: none when no relay is configured, and built from what this
  // run read and committed (no read behind the relays' own watch) wherever the run can vouch for the
  // whole endpoint set; only the other services are read.
  let pushes: readonly RelayPushResult[] = [];
  if (applied.changedServices.length > 0 && deps.publisher !== noRelayPublisher) {
    try {
      const pushed = applied.pushed ?? { sets: [], toRead: applied.changedServices };
      const read = pushed.toRead.length > 0 ? await deps.registry.serviceEndpoints(pushed.toRead) : [];
      const sets = [...pushed.sets, ...read].sort((a, b) => compareStrings(a.service, b.service));
      pushes = await deps.publisher.publish(sets, `reconcile ${ref.id} (${source})`);
    } catch (error) {
      // The commit stands; relays converge through their own Consul watch.
      pushes = [{ target: '*', ok: false, error: `reading endpoints for push failed: ${errorMessage(error)}` }];
    }
  }
  return finish({
    ...counts,
    outcome: plan.actions.length > 0 ? 'applied' : 'unchanged',
    committedIndex: applied.committedIndex,
    changedServices: applied.changedServices,
    pushes,
    ...(deps.reportPlan ? { plan } : {}),
  });
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

type Attempt =
  | { readonly kind: 'superseded'; readonly detail: string; readonly counts?: PlanCounts; readonly plan?: ReconcilePlan }
  | { readonly kind: 'applied'; readonly plan: ReconcilePlan; readonly counts: PlanCounts; readonly applied: Awaited<ReturnType<ReconcileSession['apply']>> };

interface PlanCounts {
  readonly registered: number;
  readonly updated: number;
  readonly deregistered: number;
  readonly skipped: readonly PlanSkip[];
  readonly instances: number;
}

/** What a run knows from ARM before it reads Consul: the scale set, its state and its complete listing. */
interface ListedScaleSet {
  readonly ref: ScaleSetRef;
  readonly scaleSetState: 'in-mesh' | 'left-mesh' | 'not-found';
  readonly scaleSet: MeshScaleSet | undefined;
  readonly listing: InstanceListing & { readonly status: 'complete' };
  /** When the listing started (the claim records it). */
  readonly listedAt: number;
}

/** Begins (claiming first or not), plans from what the session read, and applies. */
async function claimPlanApply(deps: ReconcileDeps, listed: ListedScaleSet, claimFirst: boolean): Promise<Attempt> {
  let session: ReconcileSession;
  try {
    session = await deps.registry.beginReconcile(listed.ref.id, listed.listedAt, claimFirst ? { claimFirst } : undefined);
  } catch (error) {
    if (error instanceof SupersededError) return { kind: 'superseded', detail: error.message };
    throw error;
  }
  const { plan, counts } = await planFromState(deps, listed, session);
  // Applied even when empty: the marker then records this run as the scale set's last reconcile
  // (one KV write), which the status function shows.
  let applied;
  try {
    applied = await session.apply(plan, { scaleSetState: listed.scaleSetState });
  } catch (error) {
    if (error instanceof SupersededError) return { kind: 'superseded', detail: error.message, counts, plan };
    throw error;
  }
  return { kind: 'applied', plan, counts, applied };
}

/**
 * Plans from what Consul holds (`state`: a claimed session's read, or a plan-only read), asking ARM
 * about the removals and revivals one listing cannot prove. Reads only; writes nothing.
 */
async function planFromState(deps: ReconcileDeps, listed: ListedScaleSet, session: ReconcileState): Promise<{ readonly plan: ReconcilePlan; readonly counts: PlanCounts }> {
  const { ref, scaleSetState, scaleSet, listing } = listed;
  const planFor = (checked: { readonly gone: ReadonlySet<string>; readonly present: ReadonlySet<string> }, tombstones: ReadonlySet<string>): ReconcilePlan =>
    planReconcile({
      scaleSetId: ref.id,
      scaleSetState,
      scaleSet,
      listing,
      actual: session.actual,
      tombstones,
      confirmedGone: checked.gone,
      confirmedPresent: checked.present,
      maxRemovalShare: deps.maxRemovalShare,
    });

  let plan = planFor({ gone: new Set(), present: new Set() }, session.tombstones);
  // One listing is not proof either, in both directions; each costs one GET per instance, asked
  // together:
  // - a page that lost an instance looks like a scale-in: every removal of an instance we did not
  //   see draining is asked about (404 = really gone, the instance itself = kept); the cap holds
  //   back those ARM did not answer for;
  // - a lagging replica's listing can still show an instance removed before it: a registration
  //   over a lifted tombstone (tombstone.ts) needs the instance's GET to answer it too, else the
  //   tombstone keeps blocking.
  const unconfirmed = new Set([
    ...plan.skipped.filter((s) => skipCode(s) === SKIP.removalCap).map((s) => s.node),
    ...plan.actions.flatMap((a) => (a.kind === 'deregister' && a.because === 'gone' && !a.actual.draining ? [a.actual.node] : [])),
  ]);
  const reviving = plan.actions.flatMap((a) => (a.kind === 'register' && session.liftedTombstones.has(a.desired.node) ? [a.desired] : []));
  if ((unconfirmed.size > 0 || reviving.length > 0) && scaleSet) {
    const ids = [...session.actual.filter((n) => unconfirmed.has(n.node)).map((n) => n.instanceResourceId), ...reviving.map((d) => d.instanceResourceId)];
    const checked = await deps.inventory.confirmGone(scaleSet, ids);
    const unconfirmedRevivals = reviving.filter((d) => !checked.present.has(d.instanceResourceId.toLowerCase())).map((d) => d.node);
    plan = planFor(checked, new Set([...session.tombstones, ...unconfirmedRevivals]));
  }

  const counts = {
    registered: plan.actions.filter((a) => a.kind === 'register').length,
    updated: plan.actions.filter((a) => a.kind === 'update').length,
    deregistered: plan.actions.filter((a) => a.kind === 'deregister').length,
    skipped: plan.skipped,
    instances: listing.instances.length,
  };
  return { plan, counts };
}
