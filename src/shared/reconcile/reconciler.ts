/**
 * The app's entry into the domain: hints in, reconcile reports out. Owns the per-process
 * coalescer and the VM → scale set resolver, so every trigger (Event Grid, autoscale webhook,
 * timer) shares them: a hint's target (`ReconcileTarget`) is a scale set, or a VM whose scale set
 * is resolved first; the coalescer is keyed by the scale set's reference, and the timer's sweep
 * runs each scale set through it too. A report whose outcome is `unknown` (ARM could not be
 * listed, or its tags could not be read) answers the hints that waited for its run, but covers no
 * later one: a redelivered event gets a new run.
 *
 * A hint waits for its reconcile at most `hintDeadlineMs` (and no longer than that after its scale
 * set's runs began back to back): Event Grid gives a delivery 30 s, and a delivery that times out
 * comes back whole. When the wait ends, the run that covers the hint is already in flight or queued
 * in the coalescer, so the hint is answered `queued` (acknowledged) and that run finishes on its
 * own; its outcome goes to `onQueuedOutcome`, and a run that fails is caught up by the timer sweep.
 * A VM hint whose scale set is not known by then was queued nowhere: it fails as transient.
 */
import { TransientError, errorMessage } from '../errors';
import type { InstanceListing, MeshScaleSet, ReconcileHint, ScaleSetRef } from '../model';
import { ReconcileCoalescer, type CoalescedResult } from './coalescer';
import type { InventoryPort } from './ports';
import { reconcileScaleSet, type ReconcileDeps, type ReconcileReport } from './reconcile-scale-set';
import { reconcileEverything, type RunOptions, type ScaleSetRunner } from './reconcile-run';
import { VmScaleSetResolver, type Lease, type VmResolution, type VmResolverOptions } from './vm-scale-set-resolver';

export type HintResult =
  | ({ readonly kind: 'reconciled'; readonly ref: ScaleSetRef } & CoalescedResult<ReconcileReport>)
  /** The deadline came first: a run covering the hint is in flight or queued and finishes on its own. */
  | { readonly kind: 'queued'; readonly ref: ScaleSetRef; readonly waitedMs: number; readonly busySince: number }
  /** A Flexible VM event whose VM is gone or belongs to no scale set: nothing of ours to do. */
  | { readonly kind: 'no-scale-set'; readonly vmResourceId: string };

/** How a run that hints stopped waiting for ended (reported once per run). */
export type QueuedOutcome =
  | { readonly scaleSetId: string; readonly ok: true; readonly report: ReconcileReport }
  | { readonly scaleSetId: string; readonly ok: false; readonly error: string };

export interface ReconcilerOptions {
  /** A run covers an event when it started at least this long after it (clock skew; default 2 s). */
  readonly coverMarginMs?: number;
  /** Longest a hint waits for its reconcile (default 20 s; Event Grid's delivery timeout is 30 s). */
  readonly hintDeadlineMs?: number;
  readonly vmResolver?: VmResolverOptions;
  /** Told how each run that hints were acknowledged for without waiting ended. */
  readonly onQueuedOutcome?: (outcome: QueuedOutcome) => void;
  readonly now?: () => number;
}

export class Reconciler {
  /** The dependencies as the runs see them (the inventory teaches the resolver what it lists). */
  readonly deps: ReconcileDeps;
  readonly resolver: VmScaleSetResolver;
  private readonly coalescer: ReconcileCoalescer<ReconcileReport>;
  private readonly deadlineMs: number;
  private readonly now: () => number;
  /** Results (reports or errors) of runs whose outcome was reported: one run, one report line. */
  private readonly reportedQueued = new WeakSet<object>();

  constructor(
    deps: ReconcileDeps,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.deadlineMs = options.hintDeadlineMs ?? 20_000;
    if (!(this.deadlineMs > 0)) throw new TypeError(`hintDeadlineMs must be positive, got ${this.deadlineMs}`);
    const gone = deps.confirmGoneDelayMs;
    if (gone !== undefined && !(Number.isFinite(gone) && gone >= 0)) throw new TypeError(`confirmGoneDelayMs must be a finite number of ms ≥ 0, got ${String(gone)}`);
    this.now = options.now ?? Date.now;
    const inner = deps.inventory;
    this.resolver = new VmScaleSetResolver(
      { askArm: (id) => inner.scaleSetOfVm(id), remembered: (id) => deps.registry.scaleSetOfInstance(id) },
      { maxBusyWaitMs: this.deadlineMs, ...options.vmResolver, now: options.vmResolver?.now ?? this.now },
    );
    this.deps = { ...deps, inventory: learningInventory(inner, this.resolver) };
    this.coalescer = new ReconcileCoalescer((ref, source) => reconcileScaleSet(this.deps, ref, source ?? 'hint'), {
      coverMarginMs: options.coverMarginMs ?? 2000,
      now: this.now,
      covering: (report) => report.outcome !== 'unknown',
    });
  }

  /** Reconciles the scale set a hint names (resolving a Flexible VM's scale set first). */
  async reconcileHint(hint: ReconcileHint): Promise<HintResult> {
    const started = this.now();
    const deadlineAt = started + this.deadlineMs;
    const { target } = hint;
    let ref: ScaleSetRef;
    let lease: Lease | undefined;
    if (target.kind === 'scale-set') {
      ref = target.ref;
    } else {
      const resolution = await this.resolveWithin(target.vmResourceId, deadlineAt);
      if (resolution.kind === 'none') return { kind: 'no-scale-set', vmResourceId: target.vmResourceId };
      ref = resolution.ref;
      lease = resolution.lease;
    }
    const eventTime = Date.parse(hint.eventTime);
    // A run this hint starts is told its reason (`event:…`, `autoscale:…`), and its report says so.
    const waiting = this.coalescer.requestWithin(ref, Number.isNaN(eventTime) ? undefined : eventTime, { deadlineAt, maxBusyMs: this.deadlineMs }, hint.reason);
    if (lease) this.resolver.releaseAfterListing(lease, ref, waiting);
    const outcome = await waiting;
    if (outcome.via === 'queued') {
      this.reportWhenDone(ref, outcome.pending);
      return { kind: 'queued', ref, waitedMs: this.now() - started, busySince: outcome.busySince };
    }
    const report = outcome.result;
    if (report.outcome === 'unknown' && report.retryable) {
      // Nothing was changed; the trigger should come back later (Event Grid / webhook retry).
      throw new TransientError(`ARM could not list ${ref.id}: ${report.detail ?? 'unknown'}`, 'arm', report.retryAfterMs);
    }
    return { kind: 'reconciled', ref, ...outcome };
  }

  /**
   * The timer's full sweep. Its scale sets go through the hints' coalescer: each gets a run that
   * starts at its turn or later (never an earlier one; behind a run in flight, the trailing one), a
   * hint meanwhile joins that run, and the run's report may cover hints whose events came before it
   * started (it listed ARM after them).
   */
  reconcileAll(source: string, options: RunOptions = {}) {
    const coalescer = this.coalescer;
    const runner: ScaleSetRunner = {
      run: async (ref, runSource) => (await coalescer.request(ref, undefined, runSource)).result,
      busy: (ref) => coalescer.busy(ref),
    };
    return reconcileEverything(this.deps, source, { ...options, runner });
  }

  private async resolveWithin(vmResourceId: string, deadlineAt: number): Promise<VmResolution> {
    const resolving = this.resolver.resolve(vmResourceId);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const seconds = Math.round(this.deadlineMs / 1000);
        reject(new TransientError(`could not tell which scale set VM ${vmResourceId} belongs to within ${seconds} s (ARM slow or throttled); the event is not acknowledged`, 'arm'));
      }, Math.max(0, deadlineAt - this.now()));
    });
    try {
      return await Promise.race([resolving, late]);
    } catch (error) {
      // Given up: the look-up goes on and fills the cache, but nobody will hold its lease until a
      // listing, so it is released as soon as it comes (a leaked lease would pause the group's GETs).
      resolving.then((r) => (r.kind === 'scale-set' ? r.lease?.release() : undefined), () => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private reportWhenDone(ref: ScaleSetRef, pending: Promise<ReconcileReport>): void {
    // Hints of one run may hold different promises of it (the queued trailing run, then the run
    // itself once it started); what they settle with is the same object, so that decides.
    const firstTime = (settled: unknown): boolean => {
      if (typeof settled !== 'object' || settled === null) return true;
      if (this.reportedQueued.has(settled)) return false;
      this.reportedQueued.add(settled);
      return true;
    };
    const report = this.options.onQueuedOutcome;
    pending.then(
      (result) => void (firstTime(result) && report?.({ scaleSetId: ref.id, ok: true, report: result })),
      (error: unknown) => void (firstTime(error) && report?.({ scaleSetId: ref.id, ok: false, error: errorMessage(error) })),
    );
  }
}

/** The inventory, teaching the resolver every Flexible scale set's VMs as it lists them. */
function learningInventory(inner: InventoryPort, resolver: VmScaleSetResolver): InventoryPort {
  return {
    lookupScaleSet: (ref) => inner.lookupScaleSet(ref),
    isListedInResourceGroup: (ref) => inner.isListedInResourceGroup(ref),
    listInstances: async (scaleSet: MeshScaleSet): Promise<InstanceListing> => {
      if (scaleSet.orchestrationMode !== 'Flexible') return inner.listInstances(scaleSet);
      const done = resolver.listingStarted(scaleSet.ref);
      try {
        const listing = await inner.listInstances(scaleSet);
        if (listing.status === 'complete') resolver.learn(scaleSet.ref, listing.instances.map((i) => i.resourceId));
        return listing;
      } finally {
        done();
      }
    },
    confirmGone: (scaleSet, ids) => inner.confirmGone(scaleSet, ids),
    scaleSetOfVm: (id) => inner.scaleSetOfVm(id),
    listMeshScaleSets: () => inner.listMeshScaleSets(),
    ...(inner.gatherFlexibleListings ? { gatherFlexibleListings: inner.gatherFlexibleListings.bind(inner) } : {}),
    measureCalls: (work) => inner.measureCalls(work),
  };
}
