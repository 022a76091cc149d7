/** Deterministic ordering helpers: plans must not depend on the order ARM or Consul listed things in. */
import type { PlanSkip } from '../model';
import { compareStrings } from '../compare-strings';

/** Sorted by node then reason, repeats dropped. */
export function sortedSkips(skips: readonly PlanSkip[]): PlanSkip[] {
  const unique = new Map<string, PlanSkip>();
  for (const s of skips) unique.set(`${s.node}\u0000${s.reason}`, s);
  return [...unique.values()].sort((a, b) => compareStrings(a.node, b.node) || compareStrings(a.reason, b.reason));
}
