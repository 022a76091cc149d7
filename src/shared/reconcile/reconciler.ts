/**
 * The app's entry into the domain: hints in, reconcile reports out. Owns the per-process
 * coalescer so every trigger (Event Grid, autoscale webhook, timer) shares it.
 */
import { TransientError } from '../errors';
import type { ReconcileHint, ScaleSetRef } from '../model';
import { ReconcileCoalescer, type CoalescedResult } from './coalescer';
import { reconcileScaleSet, type ReconcileDeps, type ReconcileReport } from './reconcile-scale-set';
import { reconcileEverything, type RunOptions } from './reconcile-run';
import { scaleSetId, scaleSetRefFromId } from '../resource-id';


export type HintResult =
  | ({ readonly kind: 'reconciled'; readonly ref: ScaleSetRef } & CoalescedResult<ReconcileReport>)
  /** A Flexible VM event whose VM is gone or belongs to no scale set: nothing of ours to do. */
  | { readonly kind: 'no-scale-set'; readonly vmResourceId: string };

export class Reconciler {
  private readonly coalescer: ReconcileCoalescer<ReconcileReport>;

  constructor(
    readonly deps: ReconcileDeps,
    options: { readonly coverMarginMs?: number } = {},
  ) {
    this.coalescer = new ReconcileCoalescer((id) => reconcileScaleSet(deps, scaleSetRefFromId(id), 'hint'), {
      coverMarginMs: options.coverMarginMs ?? 2000,
    });
  }

  /** Reconciles the scale set a hint names (resolving a Flexible VM's scale set through ARM first). */
  async reconcileHint(hint: ReconcileHint): Promise<HintResult> {
    let ref: ScaleSetRef | null;
    if (hint.scaleSet) {
      const id = scaleSetId(hint.subscriptionId, hint.resourceGroup, hint.scaleSet);
      ref = scaleSetRefFromId(id);
    } else if (hint.vmResourceId) {
      ref = await this.deps.inventory.scaleSetOfVm(hint.vmResourceId);
      if (!ref) {
        // A deleted Flexible VM answers 404, yet that is the event that must remove its node:
        // our node remembers the scale set.
        const known = await this.deps.registry.scaleSetOfInstance(hint.vmResourceId);
        if (!known) return { kind: 'no-scale-set', vmResourceId: hint.vmResourceId };
        ref = scaleSetRefFromId(known);
      }
    } else {
      throw new TypeError(`hint ${hint.eventId} names neither a scale set nor a VM`);
    }
    const eventTime = Date.parse(hint.eventTime);
    const result = await this.coalescer.request(ref.id, Number.isNaN(eventTime) ? undefined : eventTime);
    const report = result.result;
    if (report.outcome === 'unknown' && report.retryable) {
      // Nothing was changed; the trigger should come back later (Event Grid / webhook retry).
      throw new TransientError(`ARM could not list ${ref.id}: ${report.detail ?? 'unknown'}`, 'arm', report.retryAfterMs);
    }
    return { kind: 'reconciled', ref, ...result };
  }

  /** The timer's full sweep. */
  reconcileAll(source: string, options: RunOptions = {}) {
    return reconcileEverything(this.deps, source, options);
  }
}
