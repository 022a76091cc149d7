/**
 * Decides the next response a stream sends, from its per-kind subscriptions and the snapshot it
 * has adopted. Make before break (xDS protocol, "Eventual consistency considerations"):
 *
 *   1. clusters added or changed       4. routes
 *   2. endpoints                       5. clusters removed
 *   3. listeners                       6. endpoints removed
 *
 * At most one response per kind is in flight (unACKed) on a stream. When a step has work but its
 * kind is in flight, planning stops there: later steps wait, so nothing can overtake an update it
 * depends on. A changed cluster makes its ClusterLoadAssignment due again (Envoy keeps an updated
 * cluster warming until it gets an EDS response, even an identical one).
 *
 * SotW Listener/Cluster responses carry every subscribed resource; when clusters are both added
 * and removed, step 1 still carries the stale ones and step 5 drops them. SotW has no way to delete
 * a route or ClusterLoadAssignment: they are only forgotten (the parent's update unlinks them).
 */
import type { Snapshot } from '../snapshot/snapshot-types';
import { XDS_KINDS } from '../xds/kinds';
import type { EncodedResource, ResourceKind } from '../xds/resource-kind';
import type { AdsMode } from './ads-hooks';
import { type KindSubscription, knownVersion } from './kind-subscription';

export type Subscriptions = Readonly<Record<ResourceKind, KindSubscription>>;

type Step = 'upsert' | 'remove';

const STEPS: ReadonlyArray<readonly [ResourceKind, Step]> = [
  ['cluster', 'upsert'],
  ['endpoint', 'upsert'],
  ['listener', 'upsert'],
  ['route', 'upsert'],
  ['cluster', 'remove'],
  ['endpoint', 'remove'],
];

export interface PlannedResponse {
  readonly kind: ResourceKind;
  /** SotW `version_info` / Delta `system_version_info`. */
  readonly version: string;
  readonly resources: readonly EncodedResource[];
  /** Delta only. */
  readonly removed: readonly string[];
  /** SotW Listener/Cluster: the response is the complete set the client must hold afterwards. */
  readonly completeSet: boolean;
}

/** Suffix of the version of a SotW cluster response that still carries clusters about to go. */
export const KEEP_STALE_SUFFIX = '+keep-stale';

/** Resources of interest whose version the client does not hold. */
function changedResources(sub: KindSubscription, resources: ReadonlyMap<string, EncodedResource>): EncodedResource[] {
  // No closure here: this runs for every stream on every change (a per-call closure showed in profiles).
  const out: EncodedResource[] = [];
  if (sub.wildcard) {
    for (const resource of resources.values()) if (knownVersion(sub.known.get(resource.name)) !== resource.version) out.push(resource);
  } else {
    for (const name of sub.names) {
      const resource = resources.get(name);
      if (resource && knownVersion(sub.known.get(resource.name)) !== resource.version) out.push(resource);
    }
  }
  return out;
}

/** Names the client holds (or claims to) that no longer exist. */
function goneNames(sub: KindSubscription, resources: ReadonlyMap<string, EncodedResource>): string[] {
  const out: string[] = [];
  for (const [name, known] of sub.known) {
    if (known !== null && !resources.has(name)) out.push(name);
  }
  return out;
}

/**
 * Delta: names the client asked about that do not exist and it was never told so (or that it
 * unsubscribed under a wildcard and are not covered by it). Safe in any step: nothing uses them.
 */
function absentNames(sub: KindSubscription, resources: ReadonlyMap<string, EncodedResource>): string[] {
  const out: string[] = [];
  for (const name of sub.names) {
    if (!resources.has(name) && !sub.known.has(name)) out.push(name);
  }
  for (const name of sub.owedAnswers) {
    if (sub.names.has(name) || (resources.has(name) && sub.interestedIn(name))) continue;
    // A name the client holds is announced by the removal of gone resources instead.
    const known = sub.known.get(name);
    if (known === undefined || known === null) out.push(name);
  }
  return out;
}

/** Every existing resource of interest, in snapshot order for wildcards, name order otherwise. */
function currentSet(sub: KindSubscription, resources: ReadonlyMap<string, EncodedResource>): EncodedResource[] {
  if (sub.wildcard) return [...resources.values()];
  const out: EncodedResource[] = [];
  for (const name of sub.names) {
    const resource = resources.get(name);
    if (resource) out.push(resource);
  }
  return out;
}

/** LDS and CDS answer the first request even when there is nothing (Envoy waits for it to initialise). */
function owesFirstResponse(sub: KindSubscription): boolean {
  return !sub.responded && XDS_KINDS[sub.kind].answersFirstRequest;
}

function sotwStep(sub: KindSubscription, step: Step, snapshot: Snapshot): PlannedResponse | undefined {
  const resources = snapshot.resources[sub.kind];
  if (!XDS_KINDS[sub.kind].sotwRequiresAll) {
    // Routes and endpoints: deletions cannot be expressed, only forgotten.
    if (step === 'remove' || sub.kind === 'route') {
      for (const name of goneNames(sub, resources)) sub.known.delete(name);
    }
    if (step === 'remove') return undefined;
    const changed = changedResources(sub, resources);
    return changed.length ? { kind: sub.kind, version: snapshot.version, resources: changed, removed: [], completeSet: false } : undefined;
  }
  const changed = changedResources(sub, resources);
  const gone = goneNames(sub, resources);
  // The client rejected the make-before-break response of this very snapshot: the remove step would
  // send it the same rejected clusters again. Wait for a new snapshot instead.
  if (step === 'remove' && sub.lastNackedVersion === snapshot.version + KEEP_STALE_SUFFIX) return undefined;
  if (step === 'remove' || sub.kind === 'listener') {
    const due = step === 'remove' ? gone.length > 0 : changed.length > 0 || gone.length > 0 || owesFirstResponse(sub);
    return due ? { kind: sub.kind, version: snapshot.version, resources: currentSet(sub, resources), removed: [], completeSet: true } : undefined;
  }
  // Cluster upsert: keep the clusters that are going until routes stop using them (step 5).
  if (changed.length === 0 && !owesFirstResponse(sub)) return undefined;
  const stale: EncodedResource[] = [];
  for (const name of gone) {
    const known = sub.known.get(name);
    if (known && typeof known !== 'string') stale.push(known);
  }
  return {
    kind: sub.kind,
    version: stale.length ? snapshot.version + KEEP_STALE_SUFFIX : snapshot.version,
    resources: [...currentSet(sub, resources), ...stale],
    removed: [],
    completeSet: true,
  };
}

function deltaStep(sub: KindSubscription, step: Step, snapshot: Snapshot): PlannedResponse | undefined {
  const resources = snapshot.resources[sub.kind];
  const makeBeforeBreak = sub.kind === 'cluster' || sub.kind === 'endpoint';
  let changed: EncodedResource[] = [];
  let removed: string[] = [];
  if (step === 'remove') {
    removed = goneNames(sub, resources);
  } else {
    changed = changedResources(sub, resources);
    removed = makeBeforeBreak ? absentNames(sub, resources) : [...goneNames(sub, resources), ...absentNames(sub, resources)];
  }
  const due = changed.length > 0 || removed.length > 0 || (step === 'upsert' && owesFirstResponse(sub));
  return due ? { kind: sub.kind, version: snapshot.version, resources: changed, removed, completeSet: false } : undefined;
}

/**
 * The next response to send, or undefined when there is nothing to send now (all done, or the
 * next due step waits for an ACK). May forget SotW routes/endpoints that no longer exist.
 */
export function planNextResponse(mode: AdsMode, subs: Subscriptions, snapshot: Snapshot): PlannedResponse | undefined {
  for (const [kind, step] of STEPS) {
    const sub = subs[kind];
    if (!sub.requested) continue;
    const planned = mode === 'sotw' ? sotwStep(sub, step, snapshot) : deltaStep(sub, step, snapshot);
    if (!planned) continue;
    return sub.inFlight ? undefined : planned;
  }
  return undefined;
}

/**
 * Records that `planned` was sent: the client now holds exactly what it carried. A cluster whose
 * version changed for the client makes its ClusterLoadAssignment due again.
 */
export function commitPlannedResponse(subs: Subscriptions, planned: PlannedResponse): void {
  const sub = subs[planned.kind];
  if (planned.completeSet) {
    const carried = new Set(planned.resources.map((r) => r.name));
    for (const name of [...sub.known.keys()]) {
      if (!carried.has(name)) sub.known.delete(name);
    }
  }
  for (const resource of planned.resources) {
    const before = knownVersion(sub.known.get(resource.name));
    sub.known.set(resource.name, resource);
    sub.owedAnswers.delete(resource.name);
    if (resource.edsServiceName !== undefined && before !== resource.version) {
      subs.endpoint.mustResend(resource.edsServiceName);
    }
  }
  for (const name of planned.removed) {
    if (sub.names.has(name)) sub.known.set(name, null);
    else sub.known.delete(name);
    sub.owedAnswers.delete(name);
  }
}
