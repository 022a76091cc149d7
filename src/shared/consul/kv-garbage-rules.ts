/**
 * Which of our own KV keys the timer's sweep deletes. Pure: kv-garbage-sweep.ts reads Consul, asks
 * ARM and writes around it; this module only decides.
 *
 * - A tombstone is deleted once it has expired (the rule in tombstone.ts, the same one the
 *   registry uses): after its TTL it no longer blocks anything, and an instance that never comes
 *   back would otherwise keep it forever.
 * - A marker is deleted only when its scale set (a) is not among the scale sets ARM listed in this
 *   sweep, (b) has no owned node left in Consul, (d) was last claimed more than the retention ago,
 *   (e) its own last reconcile recorded that ARM did not find the scale set (summary
 *   `scaleSetState: 'not-found'`), and then only once (c) ARM confirms it gone (404;
 *   kv-garbage-sweep.ts asks only for the candidates). A scale set that merely left the mesh or the
 *   scope still exists, so it keeps its marker.
 *   The tombstones of a deleted marker's scale set go with it.
 *
 * Why (e): without it, the marker of a scale set that left the mesh (or the scope) but still
 * exists met (a), (b) and (d) for ever and cost an ARM GET in every sweep, for ever (up to the
 * per-sweep cap). The marker already knows better: the last reconcile wrote ARM's answer into its
 * summary, and a scale set deleted later gets a reconcile that records `not-found` — from its
 * delete event (ResourceDeleteSuccess for virtualMachineScaleSets/delete is subscribed and hints
 * the scale set; the reconcile claims it because its marker exists, and writes the summary), or
 * from the timer while it still has nodes. The price: a marker whose scale set was deleted while
 * its delete event was lost, after a reconcile that left it with no node (so the timer no longer
 * visits it), or a summary written before the state was recorded, is never collected: a stale key
 * of a few hundred bytes, as before this cleanup existed, rather than a GET per sweep.
 * Malformed keys and unreadable values are never selected: we delete only what we can read as ours.
 */
import { markerKey, tombstoneKey } from '../ownership';
import type { MarkerRecord } from './marker';
import type { TombstoneValue } from './plan-units';
import { isTombstoneExpired } from './tombstone';
import { compareStrings } from '../compare-strings';

/**
 * How long a marker of a scale set ARM no longer has is kept after its last claim. Deleting the
 * marker removes the fence against older listings (a reconcile that listed before the deletion
 * could then claim as if it were first), so this must be far longer than any reconcile can be in
 * flight (a function run is cut off after at most 30 min by default); it is also at least the
 * longest tombstone TTL the settings allow (86 400 s), so the scale set's tombstones have expired.
 */
export const MARKER_RETENTION_MS = 24 * 60 * 60_000;

/** ARM look-ups (one GET of a scale set each) the cleanup makes per sweep at most; the rest wait for the next sweep. */
export const MAX_GONE_CHECKS_PER_SWEEP = 20;

/** A key and the ModifyIndex it was read at: deleted with `delete-cas` at that index. */
export interface KvKeyAt {
  readonly key: string;
  readonly modifyIndex: number;
}

export interface TombstoneRecord extends KvKeyAt {
  /** Null when the key holds something we cannot read (it then never expires). */
  readonly value: TombstoneValue | null;
}

export interface KvGarbageInput {
  readonly kvPrefix: string;
  readonly markers: readonly MarkerRecord[];
  readonly tombstones: readonly TombstoneRecord[];
  /** Normalised IDs of the scale sets ARM listed in this sweep (mesh scale sets, and ones skipped for invalid tags). */
  readonly listedScaleSetIds: ReadonlySet<string>;
  /** Normalised IDs of the scale sets that still have an owned node in Consul. */
  readonly scaleSetsWithNodes: ReadonlySet<string>;
  readonly now: number;
  readonly tombstoneTtlMs: number;
  readonly markerRetentionMs: number;
}

export interface GoneMarkerCandidate extends KvKeyAt {
  readonly scaleSetId: string;
  /** When the marker was last written by a reconcile (claim or summary), ms. */
  readonly lastWrittenAt: number;
}

export interface GoneMarker extends GoneMarkerCandidate {
  /** The scale set's tombstones that are not expired yet: deleted once the marker is. */
  readonly tombstones: readonly KvKeyAt[];
}

export interface KvGarbage {
  readonly expiredTombstones: readonly KvKeyAt[];
  readonly goneMarkers: readonly GoneMarker[];
}

/** Markers meeting (a), (b), (d) and (e): the scale sets to ask ARM about, least recently written first. */
export function goneMarkerCandidates(input: KvGarbageInput): GoneMarkerCandidate[] {
  const candidates: GoneMarkerCandidate[] = [];
  for (const marker of input.markers) {
    const value = marker.value;
    if (!value) continue;
    const id = value.scaleSetId.toLowerCase();
    // A marker whose value names another scale set than its key is not something we understand.
    if (marker.key !== markerKey(input.kvPrefix, id)) continue;
    if (input.listedScaleSetIds.has(id) || input.scaleSetsWithNodes.has(id)) continue;
    if (value.lastReconcile?.scaleSetState !== 'not-found') continue;
    const lastWrittenAt = Math.max(value.claimedAt, value.lastReconcile?.finishedAt ?? 0);
    if (!(lastWrittenAt + input.markerRetentionMs <= input.now)) continue;
    candidates.push({ key: marker.key, modifyIndex: marker.modifyIndex, scaleSetId: id, lastWrittenAt });
  }
  return candidates.sort((a, b) => a.lastWrittenAt - b.lastWrittenAt || compareStrings(a.key, b.key));
}

/** The keys to delete, given which candidates ARM confirmed gone (404) in this sweep. */
export function selectKvGarbage(input: KvGarbageInput & { readonly confirmedGone: ReadonlySet<string> }): KvGarbage {
  const wellFormed = input.tombstones.filter((t) => isTombstoneKey(input.kvPrefix, t.key));
  const expiredTombstones = wellFormed.filter((t) => isTombstoneExpired(t.value, input.tombstoneTtlMs, input.now)).map(keyAt);
  const expired = new Set(expiredTombstones.map((t) => t.key));
  const goneMarkers = goneMarkerCandidates(input)
    .filter((m) => input.confirmedGone.has(m.scaleSetId))
    .map((m): GoneMarker => {
      const prefix = tombstoneKey(input.kvPrefix, m.scaleSetId, '');
      return { ...m, tombstones: wellFormed.filter((t) => t.key.startsWith(prefix) && !expired.has(t.key)).map(keyAt) };
    });
  return { expiredTombstones, goneMarkers };
}

/** `<prefix>/tombstones/<sub>/<rg>/<scale set>/<node>`, nothing deeper or shallower. */
export function isTombstoneKey(kvPrefix: string, key: string): boolean {
  const head = `${kvPrefix}/tombstones/`;
  if (!key.startsWith(head)) return false;
  const parts = key.slice(head.length).split('/');
  return parts.length === 4 && parts.every((p) => p.length > 0);
}

function keyAt(t: KvKeyAt): KvKeyAt {
  return { key: t.key, modifyIndex: t.modifyIndex };
}
