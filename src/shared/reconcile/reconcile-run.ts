/**
 * The sweep: every scale set reconciled once (the timer, `vmss-mesh reconcile --all`); failures of
 * one scale set do not stop the others, and the run reports every outcome. The sweep ends with
 * the cleanup of the registry's own KV keys, whose failure fails nothing (the next sweep retries).
 *
 * In the app each scale set's run goes through the Reconciler's coalescer (a `ScaleSetRunner`), the
 * one the hints use: the sweep gets a run of its own that starts at its turn or later (behind one in
 * flight, if any), and hints that arrive meanwhile share it. The CLI runs each scale set directly.
 *
 * The sweep starts the Flexible scale sets of one resource group together, as one cohort (up to
 * `MAX_FLEXIBLE_COHORT`, taking one of the `concurrency` slots): ARM has no NIC listing scoped to
 * a Flexible set, so they share one listing of the group's NICs (azure/flexible-nics.ts) instead
 * of paging through it once per wave. Everything else runs one scale set per slot.
 *
 * The sweep paces itself on ARM's read budget (azure/arm-budget.ts): it observes the
 * `x-ms-ratelimit-remaining-*` headers of its own requests as they come, and when a run ends it folds
 * in the readings the run's report carries (a run it shares may have been started by a hint, outside
 * the sweep's scope). Before starting each unit it compares the lowest current value with the
 * thresholds — below `low` (default 100) it halves its concurrency and pauses `lowSpreadMs` (1 s)
 * between a worker's units, below `critical` (25) it runs one unit at a time with `criticalSpreadMs`
 * (3 s) between them; it speeds up again when the headers recover. Every change is in the report
 * (`armBudget.pacing`, `armBudget.note`) for the sweep's log line.
 */
import { DEFAULT_PACING, SweepBudgetWatch, budgetLevel, observeArmBudget, pacingFor, resolvePacing } from '../azure/arm-budget';
import type { BudgetLevel, BudgetReading, Pacing, PacingThresholds } from '../azure/arm-budget';
import { errorMessage, shouldRetryTrigger } from '../errors';
import type { ScaleSetRef } from '../model';
import type { KvCleanupReport } from './ports';
import { reconcileScaleSet, type ReconcileDeps, type ReconcileReport } from './reconcile-scale-set';
import { scaleSetRefFromId } from '../resource-id';

export interface RunFailure {
  readonly scaleSetId: string;
  readonly error: string;
  /** The trigger should be tried again (see `shouldRetryTrigger`). */
  readonly retryTrigger: boolean;
}

export interface RunReport {
  readonly reports: readonly ReconcileReport[];
  readonly failures: readonly RunFailure[];
  readonly totals: {
    readonly scaleSets: number;
    readonly registered: number;
    readonly updated: number;
    readonly deregistered: number;
    readonly instances: number;
    readonly armCalls: number;
    readonly failedPushes: number;
    /** Lowest remaining-reads value ARM reported to the sweep or to a run it got the report of (any subscription or header); null when none came. */
    readonly armReadsRemaining: number | null;
    /** Fewest scale sets the sweep ran at once (the configured concurrency unless the budget ran low). */
    readonly pacedConcurrency: number;
    /**
     * `armBudget.note`, here too: the timer's log line spreads the totals, so it says whether (and
     * how) the sweep slowed down.
     */
    readonly armBudgetNote: string;
  };
  readonly armBudget: SweepArmBudget;
}

/** One pacing decision of a sweep: the first is how it started, each further one a change of level. */
export interface PacingChange extends Pacing {
  /** Units (scale sets or Flexible cohorts) started before this decision. */
  readonly afterUnits: number;
  /** The reading that decided it (absent when no header had come yet). */
  readonly remaining?: number;
  readonly source?: string;
  readonly subscriptionId?: string;
}

export interface SweepArmBudget {
  readonly lowest: { readonly remaining: number; readonly source: string; readonly subscriptionId: string } | null;
  readonly configuredConcurrency: number;
  readonly pacing: readonly PacingChange[];
  /** Did the sweep run slower than configured at any point. */
  readonly slowedDown: boolean;
  /** One sentence for the log: the lowest budget seen and whether (and how) the sweep slowed down. */
  readonly note: string;
}

export interface RunOptions {
  /** Scale sets reconciled at the same time (default 4: ARM read budgets are per subscription). */
  readonly concurrency?: number;
  /** Called after each scale set, for progress on long sweeps. */
  readonly onReport?: (report: ReconcileReport | RunFailure) => void;
  /** Thresholds of the pacing on ARM's remaining reads (defaults in arm-budget.ts); `false`: never slow down. */
  readonly armBudget?: Partial<PacingThresholds> | false;
  /** Told each time the sweep changes its pace (and how it started), as it happens. */
  readonly onPacing?: (change: PacingChange) => void;
}

/** Runs the reconcile of one scale set for the sweep. */
export interface ScaleSetRunner {
  /** The report of a run that started at this call or later. */
  run(ref: ScaleSetRef, source: string): Promise<ReconcileReport>;
  /** A run of this scale set is in flight or queued, so the sweep's would start only after it. */
  busy(ref: ScaleSetRef): boolean;
}

export interface SweepOptions extends RunOptions {
  /**
   * How each scale set is reconciled: by default a run of its own (the CLI's `--all`); the app's
   * Reconciler passes its coalescer, so the sweep and the hints share runs (reconciler.ts).
   */
  readonly runner?: ScaleSetRunner;
}

/** Most Flexible scale sets of one resource group a sweep starts at once (one NIC listing each cohort). */
export const MAX_FLEXIBLE_COHORT = 16;

/**
 * The sweep's units of work, in first-seen order: each Flexible scale set of a resource group
 * joins its group's first unit (cohorts of at most MAX_FLEXIBLE_COHORT); every other ref is a unit
 * of its own.
 */
export function sweepUnits(refs: readonly ScaleSetRef[], flexible: ReadonlySet<string>): ScaleSetRef[][] {
  const units: ScaleSetRef[][] = [];
  const open = new Map<string, ScaleSetRef[]>();
  for (const ref of refs) {
    if (!flexible.has(ref.id)) {
      units.push([ref]);
      continue;
    }
    const group = `${ref.subscriptionId}/${ref.resourceGroup}`.toLowerCase();
    let cohort = open.get(group);
    if (cohort === undefined || cohort.length >= MAX_FLEXIBLE_COHORT) {
      cohort = [];
      units.push(cohort);
      open.set(group, cohort);
    }
    cohort.push(ref);
  }
  return units;
}

/** The sweep's pace, re-decided from ARM's headers; parked workers wake when it may have changed. */
export class SweepPacer {
  readonly changes: PacingChange[] = [];
  private current: Pacing;
  private readonly waiters = new Set<() => void>();
  started = 0;

  constructor(
    private readonly watch: SweepBudgetWatch,
    readonly configured: number,
    private readonly thresholds: PacingThresholds | false,
    private readonly onPacing: RunOptions['onPacing'],
  ) {
    this.current = this.decide();
    this.note(this.current);
  }

  get pacing(): Pacing {
    return this.current;
  }

  /** After a reading or a finished unit: a new level is recorded, and parked workers re-check. */
  update(): void {
    const next = this.decide();
    if (next.level !== this.current.level) {
      this.current = next;
      this.note(next);
    }
    for (const wake of [...this.waiters]) wake();
  }

  parked(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  private decide(): Pacing {
    if (this.thresholds === false) return pacingFor('normal', this.configured, DEFAULT_PACING);
    const level: BudgetLevel = budgetLevel(this.watch.current()?.remaining, this.thresholds);
    return pacingFor(level, this.configured, this.thresholds);
  }

  private note(pacing: Pacing): void {
    const reading: BudgetReading | undefined = this.watch.current();
    const change: PacingChange = {
      ...pacing,
      afterUnits: this.started,
      ...(reading ? { remaining: reading.remaining, source: reading.source, subscriptionId: reading.subscriptionId } : {}),
    };
    this.changes.push(change);
    try {
      this.onPacing?.(change);
    } catch {
      // the caller's logging must not stop the sweep
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function reconcileRefs(deps: ReconcileDeps, refs: readonly ScaleSetRef[], source: string, options: SweepOptions, flexible: ReadonlySet<string>, watch: SweepBudgetWatch, bindPacer: (pacer: SweepPacer) => void): Promise<RunReport> {
  const unique = [...new Map(refs.map((r) => [r.id, r])).values()];
  const units = sweepUnits(unique, flexible);
  const reports: ReconcileReport[] = [];
  const failures: RunFailure[] = [];
  const reconcileOne = async (ref: ScaleSetRef): Promise<void> => {
    try {
      const report = await (options.runner ? options.runner.run(ref, source) : reconcileScaleSet(deps, ref, source));
      // A run a hint started (and the sweep joined) ran outside the sweep's budget scope.
      watch.fold(report.armReadings ?? []);
      reports.push(report);
      options.onReport?.(report);
    } catch (error) {
      const failure = { scaleSetId: ref.id, error: errorMessage(error), retryTrigger: shouldRetryTrigger(error) };
      failures.push(failure);
      options.onReport?.(failure);
    }
  };
  const reconcileUnit = async (unit: readonly ScaleSetRef[]): Promise<void> => {
    // A member whose run waits behind one in flight (a hint's) would hold the group's NIC listing
    // back until it starts: it lists on its own, the others are gathered.
    const gathering = options.runner ? unit.filter((ref) => !options.runner?.busy(ref)) : unit;
    const first = gathering[0];
    if (first === undefined || gathering.length === 1 || !deps.inventory.gatherFlexibleListings) {
      await Promise.all(unit.map(reconcileOne));
      return;
    }
    const gathered = deps.inventory.gatherFlexibleListings(first, gathering.map((r) => r.id));
    const members = new Set(gathering);
    await Promise.all(
      unit.map(async (ref) => {
        try {
          await reconcileOne(ref);
        } finally {
          if (members.has(ref)) gathered.leave(ref.id);
        }
      }),
    );
  };
  const configured = Math.max(1, Math.min(options.concurrency ?? 4, units.length));
  const pacer = new SweepPacer(watch, configured, options.armBudget === false ? false : resolvePacing(options.armBudget ?? {}), options.onPacing);
  bindPacer(pacer);
  let next = 0;
  // Worker `slot` runs while slot < the pace's concurrency (slot 0 always does, so the sweep always
  // progresses); the others park until the pace or the work changes.
  const worker = async (slot: number): Promise<void> => {
    let rest = false;
    while (next < units.length) {
      if (slot >= pacer.pacing.concurrency) {
        await pacer.parked();
        continue;
      }
      if (rest && pacer.pacing.spreadMs > 0) {
        rest = false;
        await sleep(pacer.pacing.spreadMs);
        continue; // the pace, or the work left, may have changed meanwhile
      }
      const unit = units[next++]!;
      pacer.started += 1;
      await reconcileUnit(unit);
      rest = true;
      pacer.update();
    }
    pacer.update(); // wake the parked: nothing is left
  };
  await Promise.all(Array.from({ length: configured }, (_, slot) => worker(slot)));
  reports.sort((a, b) => a.scaleSetId.localeCompare(b.scaleSetId));
  const armBudget = sweepBudgetReport(watch, pacer);
  return { reports, failures, totals: { ...totalsOf(reports), armReadsRemaining: armBudget.lowest?.remaining ?? null, pacedConcurrency: Math.min(...pacer.changes.map((c) => c.concurrency)), armBudgetNote: armBudget.note }, armBudget };
}

function sweepBudgetReport(watch: SweepBudgetWatch, pacer: SweepPacer): SweepArmBudget {
  const low = watch.lowest;
  const lowest = low ? { remaining: low.remaining, source: low.source, subscriptionId: low.subscriptionId } : null;
  const slowed = pacer.changes.filter((c) => c.level !== 'normal');
  const seen = lowest ? `lowest ARM reads remaining ${lowest.remaining} (${lowest.source}, subscription ${lowest.subscriptionId})` : 'no ARM remaining-reads header seen';
  const worst = slowed.find((c) => c.level === 'critical') ?? slowed[0];
  const note = worst
    ? `${seen}; budget ${worst.level}: slowed to ${worst.concurrency} scale set(s) at a time (configured ${pacer.configured}) with ${worst.spreadMs} ms between each worker's scale sets${pacer.changes.length > 1 && pacer.changes.at(-1)?.level === 'normal' ? ', then back to full speed' : ''}`
    : `${seen}; full speed (${pacer.configured} at a time)`;
  return { lowest, configuredConcurrency: pacer.configured, pacing: pacer.changes, slowedDown: slowed.length > 0, note };
}

/** How the sweep's KV cleanup went: what it removed (and the ARM calls it made), or why it failed. */
export type SweepKvCleanup = ({ readonly ok: true; readonly armCalls: number } & KvCleanupReport) | { readonly ok: false; readonly error: string };

export interface SweepReport extends RunReport {
  readonly skippedScaleSets: ReadonlyArray<{ id: string; reason: string }>;
  readonly kvCleanup: SweepKvCleanup;
}

/**
 * The timer's sweep: every mesh scale set in scope, plus every scale set we still hold entries
 * for; then, once the scale sets are reconciled, the cleanup of expired tombstones and of markers
 * of scale sets ARM no longer has.
 */
export async function reconcileEverything(deps: ReconcileDeps, source: string, options: SweepOptions = {}): Promise<SweepReport> {
  // Fail fast on thresholds that cannot work, before any ARM call.
  if (options.armBudget !== undefined && options.armBudget !== false) resolvePacing(options.armBudget);
  let pacer: SweepPacer | undefined;
  const watch = new SweepBudgetWatch(() => pacer?.update());
  return observeArmBudget(watch, () => sweep(deps, source, options, watch, (p) => (pacer = p)));
}

async function sweep(deps: ReconcileDeps, source: string, options: SweepOptions, watch: SweepBudgetWatch, bindPacer: (pacer: SweepPacer) => void): Promise<SweepReport> {
  const [discovered, owned] = await Promise.all([deps.inventory.listMeshScaleSets(), deps.registry.ownedScaleSetIds()]);
  const refs = new Map<string, ScaleSetRef>(discovered.scaleSets.map((s) => [s.ref.id, s.ref]));
  for (const id of owned) if (!refs.has(id)) refs.set(id, scaleSetRefFromId(id));
  const listed = [...discovered.scaleSets.map((s) => s.ref.id), ...discovered.skipped.map((s) => s.id)];
  const flexible = new Set(discovered.scaleSets.filter((s) => s.orchestrationMode === 'Flexible').map((s) => s.ref.id));
  const run = await reconcileRefs(deps, [...refs.values()], source, options, flexible, watch, bindPacer);
  // A plan-only sweep (`vmss-mesh reconcile --all --dry-run`) writes nothing: no KV cleanup either.
  const kvCleanup: SweepKvCleanup = deps.planOnly ? { ok: false, error: 'KV cleanup not run: a plan-only sweep writes nothing' } : await cleanupKv(deps, listed);
  return { ...run, skippedScaleSets: discovered.skipped, kvCleanup };
}

/** Never throws: a failed cleanup is reported and simply runs again at the next sweep. */
async function cleanupKv(deps: ReconcileDeps, listedScaleSetIds: readonly string[]): Promise<SweepKvCleanup> {
  try {
    const { result, calls } = await deps.inventory.measureCalls(() =>
      deps.registry.cleanupKv({
        listedScaleSetIds,
        // Only ARM's 404 confirms; any other answer throws (TransientError, ConfigError) and keeps the marker.
        confirmGone: async (id) => (await deps.inventory.lookupScaleSet(scaleSetRefFromId(id))).state === 'not-found',
      }),
    );
    return { ok: true, armCalls: calls, ...result };
  } catch (error) {
    return { ok: false, error: `KV cleanup of expired tombstones and markers of deleted scale sets failed (kept; retried at the next sweep): ${errorMessage(error)}` };
  }
}

function totalsOf(reports: readonly ReconcileReport[]): Omit<RunReport['totals'], 'armReadsRemaining' | 'pacedConcurrency' | 'armBudgetNote'> {
  let registered = 0, updated = 0, deregistered = 0, instances = 0, armCalls = 0, failedPushes = 0;
  for (const r of reports) {
    registered += r.registered;
    updated += r.updated;
    deregistered += r.deregistered;
    instances += r.instances ?? 0;
    armCalls += r.armCalls;
    failedPushes += r.pushes.filter((p) => !p.ok).length;
  }
  return { scaleSets: reports.length, registered, updated, deregistered, instances, armCalls, failedPushes };
}
