/**
 * The brake on mass deregistration (principle 4). A listing that silently lost instances looks
 * exactly like a scale-in, so the caller asks ARM about every removal it did not see draining
 * (GET → 404 puts it in `confirmedGone`, the instance itself in `confirmedPresent`: kept); what
 * ARM did not answer for is limited per mesh service and run: at most
 * floor(maxRemovalShare × registered instances of that service in this scale set).
 *
 * - The count is taken per scale set (the planner sees one scale set at a time), which is the
 *   conservative side when a service spans several scale sets.
 * - floor, with no minimum of one: a service with a single registered instance (or any share that
 *   rounds down to zero) never loses an instance unconfirmed; the next run asks ARM again, so
 *   real removals are delayed while ARM does not answer, never blocked.
 * - A node with several services needs room under every one of them.
 * - Candidates are taken in node-name order, so the choice does not depend on input order.
 */
import type { OwnedNode } from '../model';
import { compareStrings } from '../compare-strings';

export interface CappedRemoval {
  readonly node: OwnedNode;
  /** The first (by name) service whose budget was used up. */
  readonly service: string;
  readonly limit: number;
  readonly registered: number;
}

export interface RemovalCapResult {
  readonly allowed: OwnedNode[];
  readonly capped: CappedRemoval[];
}

/** Values like 0.29 × 100 = 28.999999999999996 must still give 29. */
const EPSILON = 1e-9;

export function removalLimit(maxRemovalShare: number, registered: number): number {
  return Math.floor(maxRemovalShare * registered + EPSILON);
}

/**
 * Splits unconfirmed removal `candidates` into those allowed this run and those over the cap.
 * `registered` is every node of this scale set in Consul right now (the denominator).
 */
export function applyRemovalCap(candidates: readonly OwnedNode[], registered: readonly OwnedNode[], maxRemovalShare: number): RemovalCapResult {
  const counts = new Map<string, number>();
  for (const node of registered) {
    for (const service of serviceNames(node)) counts.set(service, (counts.get(service) ?? 0) + 1);
  }
  const budget = new Map([...counts].map(([service, count]) => [service, removalLimit(maxRemovalShare, count)]));
  const allowed: OwnedNode[] = [];
  const capped: CappedRemoval[] = [];
  for (const node of [...candidates].sort((a, b) => compareStrings(a.node, b.node))) {
    const services = serviceNames(node);
    const blocking = services.find((service) => (budget.get(service) ?? 0) < 1);
    if (blocking === undefined) {
      for (const service of services) budget.set(service, (budget.get(service) ?? 0) - 1);
      allowed.push(node);
    } else {
      const registeredCount = counts.get(blocking) ?? 0;
      capped.push({ node, service: blocking, limit: removalLimit(maxRemovalShare, registeredCount), registered: registeredCount });
    }
  }
  return { allowed, capped };
}

/** Service names on a node, each once, sorted. A node without services serves nobody: no cap applies. */
function serviceNames(node: OwnedNode): string[] {
  return [...new Set(node.services.map((s) => s.name))].sort(compareStrings);
}
