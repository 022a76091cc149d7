/**
 * Reconciling several scale sets at once: the scale sets a delivery hinted at, or the timer's
 * full sweep. Each scale set is reconciled once per run however many events named it; failures of
 * one scale set do not stop the others, and the run reports every outcome.
 */
import { errorMessage, shouldRetryTrigger } from '../errors';
import type { ScaleSetRef } from '../model';
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

export async function reconcileRefs(deps: ReconcileDeps, refs: readonly ScaleSetRef[], source: string, options: RunOptions = {}): Promise<RunReport> {
  const unique = [...new Map(refs.map((r) => [r.id, r])).values()];
  const reports: ReconcileReport[] = [];
  const failures: RunFailure[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < unique.length) {
      const ref = unique[next++]!;
      try {
        const report = await reconcileScaleSet(deps, ref, source);
        reports.push(report);
        options.onReport?.(report);
      } catch (error) {
        const failure = { scaleSetId: ref.id, error: errorMessage(error), retryTrigger: shouldRetryTrigger(error) };
        failures.push(failure);
        options.onReport?.(failure);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, unique.length)) }, worker));
  reports.sort((a, b) => a.scaleSetId.localeCompare(b.scaleSetId));
  return { reports, failures, totals: totalsOf(reports) };
}

/** The timer's sweep: every mesh scale set in scope, plus every scale set we still hold entries for. */
export async function reconcileEverything(deps: ReconcileDeps, source: string, options: RunOptions = {}): Promise<RunReport & { readonly skippedScaleSets: ReadonlyArray<{ id: string; reason: string }> }> {
  const [discovered, owned] = await Promise.all([deps.inventory.listMeshScaleSets(), deps.registry.ownedScaleSetIds()]);
  const refs = new Map<string, ScaleSetRef>(discovered.scaleSets.map((s) => [s.ref.id, s.ref]));
  for (const id of owned) if (!refs.has(id)) refs.set(id, scaleSetRefFromId(id));
  const run = await reconcileRefs(deps, [...refs.values()], source, options);
  return { ...run, skippedScaleSets: discovered.skipped };
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
