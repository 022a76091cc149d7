/**
 * Reconciling several scale sets at once: the scale sets a delivery hinted at, or the timer's
 * full sweep. Each scale set is reconciled once per run however many events named it; failures of
 * one scale set do not stop the others, and the run reports every outcome. The sweep ends with
 * the cleanup of the registry's own KV keys, whose failure fails nothing (the next sweep retries).
 *
 * The sweep starts the Flexible scale sets of one resource group together, as one cohort (up to
 * `MAX_FLEXIBLE_COHORT`, taking one of the `concurrency` slots): ARM has no NIC listing scoped to
 * a Flexible set, so they share one listing of the group's NICs (azure/flexible-nics.ts) instead
 * of paging through it once per wave. Everything else runs one scale set per slot.
 */
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
  };
}

export interface RunOptions {
  /** Scale sets reconciled at the same time (default 4: ARM read budgets are per subscription). */
  readonly concurrency?: number;
  /** Called after each scale set, for progress on long sweeps. */
  readonly onReport?: (report: ReconcileReport | RunFailure) => void;
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

async function reconcileRefs(deps: ReconcileDeps, refs: readonly ScaleSetRef[], source: string, options: RunOptions, flexible: ReadonlySet<string> = new Set()): Promise<RunReport> {
  const unique = [...new Map(refs.map((r) => [r.id, r])).values()];
  const units = sweepUnits(unique, flexible);
  const reports: ReconcileReport[] = [];
  const failures: RunFailure[] = [];
  const reconcileOne = async (ref: ScaleSetRef): Promise<void> => {
    try {
      const report = await reconcileScaleSet(deps, ref, source);
      reports.push(report);
      options.onReport?.(report);
    } catch (error) {
      const failure = { scaleSetId: ref.id, error: errorMessage(error), retryTrigger: shouldRetryTrigger(error) };
      failures.push(failure);
      options.onReport?.(failure);
    }
  };
  const reconcileUnit = async (unit: readonly ScaleSetRef[]): Promise<void> => {
    const first = unit[0]!;
    if (unit.length === 1 || !deps.inventory.gatherFlexibleListings) {
      await Promise.all(unit.map(reconcileOne));
      return;
    }
    const gathered = deps.inventory.gatherFlexibleListings(first, unit.map((r) => r.id));
    await Promise.all(
      unit.map(async (ref) => {
        try {
          await reconcileOne(ref);
        } finally {
          gathered.leave(ref.id);
        }
      }),
    );
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < units.length) await reconcileUnit(units[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, units.length)) }, worker));
  reports.sort((a, b) => a.scaleSetId.localeCompare(b.scaleSetId));
  return { reports, failures, totals: totalsOf(reports) };
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
export async function reconcileEverything(deps: ReconcileDeps, source: string, options: RunOptions = {}): Promise<SweepReport> {
  const [discovered, owned] = await Promise.all([deps.inventory.listMeshScaleSets(), deps.registry.ownedScaleSetIds()]);
  const refs = new Map<string, ScaleSetRef>(discovered.scaleSets.map((s) => [s.ref.id, s.ref]));
  for (const id of owned) if (!refs.has(id)) refs.set(id, scaleSetRefFromId(id));
  const listed = [...discovered.scaleSets.map((s) => s.ref.id), ...discovered.skipped.map((s) => s.id)];
  const flexible = new Set(discovered.scaleSets.filter((s) => s.orchestrationMode === 'Flexible').map((s) => s.ref.id));
  const run = await reconcileRefs(deps, [...refs.values()], source, options, flexible);
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

function totalsOf(reports: readonly ReconcileReport[]): RunReport['totals'] {
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
