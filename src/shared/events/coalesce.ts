/**
 * Within one delivery the same scale set is often hinted many times (a scale-out emits a write
 * per instance plus one for the set). One reconcile per scale set is enough; every event ID is
 * kept so logs can still tie each event to the run that covered it.
 */
import type { ReconcileHint, ReconcileTarget } from '../model';
import { reconcileTargetKey } from '../resource-id';

/** The key hints are merged on: the scale set ID, or the VM ID while its scale set is unknown. */
export function hintKey(hint: ReconcileHint): string {
  return reconcileTargetKey(hint.target);
}

export interface CoalescedHint {
  /** `hintKey()` of every merged hint. */
  readonly key: string;
  readonly target: ReconcileTarget;
  /** The first hint for this key, with the latest `eventTime` of all of them (a reconcile must list after it). */
  readonly hint: ReconcileHint;
  /** Every event ID, in delivery order, duplicates (redeliveries) included once. */
  readonly eventIds: readonly string[];
  /** Distinct reasons, in first-seen order. */
  readonly reasons: readonly string[];
  /** Distinct instance IDs named by the events; empty when only the whole set was named. */
  readonly instanceIds: readonly string[];
}

interface Group {
  key: string;
  target: ReconcileTarget;
  first: ReconcileHint;
  latestTime: string;
  latestMs: number;
  eventIds: Set<string>;
  reasons: Set<string>;
  instanceIds: Set<string>;
  /** Some hint named the scale set without an instance. */
  wholeSet: boolean;
}

/** One entry per scale set (or unresolved VM), in order of first appearance. Linear in `hints`. */
export function coalesceHints(hints: Iterable<ReconcileHint>): CoalescedHint[] {
  const groups = new Map<string, Group>();
  for (const hint of hints) {
    const { target } = hint;
    const key = reconcileTargetKey(target);
    const ms = Date.parse(hint.eventTime);
    let group = groups.get(key);
    if (!group) {
      group = { key, target, first: hint, latestTime: hint.eventTime, latestMs: ms, eventIds: new Set(), reasons: new Set(), instanceIds: new Set(), wholeSet: false };
      groups.set(key, group);
    } else if (ms > group.latestMs || Number.isNaN(group.latestMs)) {
      group.latestTime = hint.eventTime;
      group.latestMs = ms;
    }
    group.eventIds.add(hint.eventId);
    group.reasons.add(hint.reason);
    if (hint.instanceId === undefined) group.wholeSet = true;
    else group.instanceIds.add(hint.instanceId);
  }
  const result: CoalescedHint[] = [];
  for (const group of groups.values()) {
    // A single named instance stays on the hint; several (or the whole set) means "the scale set".
    const { instanceId, ...rest } = group.first;
    const hint: ReconcileHint =
      group.instanceIds.size === 1 && !group.wholeSet && instanceId !== undefined
        ? { ...rest, instanceId, eventTime: group.latestTime }
        : { ...rest, eventTime: group.latestTime };
    result.push({
      key: group.key,
      target: group.target,
      hint,
      eventIds: [...group.eventIds],
      reasons: [...group.reasons],
      instanceIds: [...group.instanceIds],
    });
  }
  return result;
}
