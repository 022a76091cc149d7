/**
 * What one delivery asks to reconcile, for display (`vmss-mesh events explain`): its hints grouped
 * by target, a scale set or a Flexible VM whose scale set ARM resolves at reconcile time. Within a
 * delivery the same scale set is often hinted many times (a scale-out emits a write per instance
 * plus one for the set); the app reconciles it once. This is a grouping of one delivery, not the
 * coalescing of runs: that is `ReconcileCoalescer` (reconcile/coalescer.ts), keyed by the scale
 * set, shared by every trigger and decided by the events' times.
 */
import type { ReconcileHint, ReconcileTarget } from '../model';
import { reconcileTargetKey } from '../resource-id';

/** The key hints are grouped on: the scale set ID, or the VM ID while its scale set is unknown. */
export function hintKey(hint: ReconcileHint): string {
  return reconcileTargetKey(hint.target);
}

/** The hints of one delivery that name one target. */
export interface DeliveryHintGroup {
  /** `hintKey()` of each of them. */
  readonly key: string;
  readonly target: ReconcileTarget;
  /** Every event ID, in delivery order, a redelivered one once. */
  readonly eventIds: readonly string[];
  /** Distinct instance IDs named by the events; empty when only the whole set was named. */
  readonly instanceIds: readonly string[];
}

/** One group per scale set (or unresolved VM), in order of first appearance. Linear in `hints`. */
export function groupDeliveryHints(hints: Iterable<ReconcileHint>): DeliveryHintGroup[] {
  const groups = new Map<string, { target: ReconcileTarget; eventIds: Set<string>; instanceIds: Set<string> }>();
  for (const hint of hints) {
    const key = hintKey(hint);
    let group = groups.get(key);
    if (!group) {
      group = { target: hint.target, eventIds: new Set(), instanceIds: new Set() };
      groups.set(key, group);
    }
    group.eventIds.add(hint.eventId);
    if (hint.instanceId !== undefined) group.instanceIds.add(hint.instanceId);
  }
  return [...groups].map(([key, group]) => ({ key, target: group.target, eventIds: [...group.eventIds], instanceIds: [...group.instanceIds] }));
}
