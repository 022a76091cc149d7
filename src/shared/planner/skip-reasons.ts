/**
 * Why the planner left something alone. A `PlanSkip.reason` is `<code>` or `<code>: <detail>`:
 * the code is stable (callers match on it, e.g. `removal-cap` → confirm with ARM and plan again),
 * the detail is for the humans reading the log.
 */
import type { PlanSkip } from '../model';

export const SKIP = {
  /** ARM could not tell whether the scale set is in the mesh: nothing is planned for it. */
  scaleSetUnknown: 'scale-set-unknown',
  /** The instance listing failed (throttled, timed out, …): unknown is not empty. */
  listingUnknown: 'listing-unknown',
  /** A complete listing with zero instances while the scale set says capacity > 0. */
  listingSuspiciouslyEmpty: 'listing-suspiciously-empty',
  /** The scale set names no mesh service, so its instances have nothing to register. */
  noMeshServices: 'no-mesh-services',
  /** The instance has no private IP yet (NIC not listed / being replaced): kept as it is. */
  noPrivateIp: 'no-private-ip',
  /** The listing holds the same instance twice with different content: kept as it is. */
  conflictingListing: 'conflicting-listing',
  /** The node was removed recently; a stale listing must not bring it back. */
  tombstoned: 'tombstoned',
  /** ARM answered 404 for this instance after the listing was taken. */
  confirmedGone: 'confirmed-gone',
  /** The listing lacked this instance, but its GET answered with it: one listing is not proof. */
  stillInArm: 'still-in-arm',
  /** The instance is being deleted: registering it now would only add a node to drain. */
  deleting: 'deleting',
  /** More unconfirmed removals than the cap allows for one of the node's services. */
  removalCap: 'removal-cap',
  /** An entry in `actual` without our ownership marks: never touched. */
  notOwned: 'not-owned',
  /** An owned node of another scale set in `actual`: never touched by this plan. */
  otherScaleSet: 'other-scale-set',
  /** The desired node name is held in Consul by a node this plan must not touch. */
  nameTaken: 'name-taken',
} as const;

export type SkipCode = (typeof SKIP)[keyof typeof SKIP];

/** `node` of a skip that concerns the whole scale set rather than one node. */
export const WHOLE_SCALE_SET = '*';

export function skip(node: string, code: SkipCode, detail?: string): PlanSkip {
  return { node, reason: detail ? `${code}: ${detail}` : code };
}

/** The stable code of a skip reason (`removal-cap: 3 of 4 …` → `removal-cap`). */
export function skipCode(entry: PlanSkip): string {
  const colon = entry.reason.indexOf(':');
  return colon < 0 ? entry.reason : entry.reason.slice(0, colon);
}
