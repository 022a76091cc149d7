/**
 * Garbage collection of the registry's own KV keys, run once per timer sweep after the scale sets
 * are reconciled. kv-garbage-rules.ts decides what goes; this module does the I/O around it:
 *
 *  1. one recursive KV read of the whole prefix (markers and tombstones) and one read of our nodes;
 *  2. one ARM look-up per candidate marker (at most MAX_GONE_CHECKS_PER_SWEEP, the rest wait for
 *     a later sweep; anything but a confirmed 404 keeps the marker). The look-ups stop at the first
 *     one that fails (throttled, 5xx, forbidden, …): each may already have waited out Retry-After
 *     and retries, the reconciles are done, and the run must end within the Functions timeout; the
 *     remaining candidates are deferred to the next sweep;
 *  3. `delete-cas` at the ModifyIndex read, in transactions of at most `txnBatchSize` operations:
 *     expired tombstones and gone markers first, then the remaining tombstones of the markers that
 *     were really deleted. A key rewritten since the read (a fresh tombstone for the same node, a
 *     new claim of the scale set) fails its comparison and is kept; the rest of its batch is retried.
 */
import { InvalidInputError, TransientError, errorMessage } from '../errors';
import type { KvCleanupReport, KvCleanupRequest } from '../reconcile/ports';
import type { MarkerRecord } from './marker';
import { parseMarker } from './marker';
import { readOwnedNodeRecords } from './owned-reader';
import { NODE_META } from '../ownership';
import { MARKER_RETENTION_MS, MAX_GONE_CHECKS_PER_SWEEP, goneMarkerCandidates, selectKvGarbage } from './kv-garbage-rules';
import type { KvGarbageInput, KvKeyAt, TombstoneRecord } from './kv-garbage-rules';
import { throwIfDenied } from './session';
import { parseTombstone } from './tombstone';
import type { ConsulTransport } from './transport';
import { encodePath, parseAnswer } from './transport';
import { kvOps } from './txn-ops';
import * as wire from './wire';

export interface KvCleanupContext {
  readonly transport: ConsulTransport;
  readonly kvPrefix: string;
  /** Operations per transaction (VMSS_MESH_TXN_BATCH_SIZE). */
  readonly txnBatchSize: number;
  readonly tombstoneTtlMs: number;
  readonly now: () => number;
  /** Default MARKER_RETENTION_MS. */
  readonly markerRetentionMs?: number;
  /** Default MAX_GONE_CHECKS_PER_SWEEP. */
  readonly maxGoneChecks?: number;
  /** Picks where the ARM look-ups start when there are more candidates than the cap; default Math.random. */
  readonly random?: () => number;
}

export async function cleanupKv(ctx: KvCleanupContext, request: KvCleanupRequest): Promise<KvCleanupReport> {
  const entries = await readKvTree(ctx.transport, ctx.kvPrefix);
  const withoutNodes: KvGarbageInput = {
    kvPrefix: ctx.kvPrefix,
    ...splitEntries(ctx.kvPrefix, entries),
    listedScaleSetIds: new Set(request.listedScaleSetIds.map((id) => id.toLowerCase())),
    scaleSetsWithNodes: new Set(),
    now: ctx.now(),
    tombstoneTtlMs: ctx.tombstoneTtlMs,
    markerRetentionMs: ctx.markerRetentionMs ?? MARKER_RETENTION_MS,
  };
  // Which scale sets still have nodes only narrows the gone-marker candidates: when no marker is a
  // candidate without it, nothing depends on it, and the read of all our nodes (0.6 KB a node, the
  // size of a whole mesh) is skipped — the usual sweep.
  const input: KvGarbageInput =
    goneMarkerCandidates(withoutNodes).length === 0
      ? withoutNodes
      : { ...withoutNodes, scaleSetsWithNodes: scaleSetsOf(await readOwnedNodeRecords(ctx.transport, {})) };

  const candidates = goneMarkerCandidates(input);
  // Each sweep starts at a random place: a candidate that keeps failing (a subscription the
  // identity can no longer read) or whose scale set ARM still has (re-created under the same name
  // after its deletion was recorded) must not hold the first places for ever.
  const limit = ctx.maxGoneChecks ?? MAX_GONE_CHECKS_PER_SWEEP;
  const start = candidates.length > 1 ? Math.floor((ctx.random ?? Math.random)() * candidates.length) : 0;
  const toCheck = [...candidates.slice(start), ...candidates.slice(0, start)].slice(0, limit);
  const confirmedGone = new Set<string>();
  const unconfirmed: Array<{ scaleSetId: string; error: string }> = [];
  let lookedUp = 0;
  for (const candidate of toCheck) {
    lookedUp += 1;
    try {
      if (await request.confirmGone(candidate.scaleSetId)) confirmedGone.add(candidate.scaleSetId);
    } catch (error) {
      unconfirmed.push({ scaleSetId: candidate.scaleSetId, error: errorMessage(error) });
      // Throttled or failing (429, 5xx, network: each look-up already waited and retried): asking
      // on would only stretch the sweep. Anything else (403 on one subscription, say) concerns
      // that scale set alone, and it answered at once.
      if (error instanceof TransientError) break;
    }
  }

  const garbage = selectKvGarbage({ ...input, confirmedGone });
  const first = await deleteAllCas(ctx.transport, [...garbage.expiredTombstones, ...garbage.goneMarkers], ctx.txnBatchSize);
  const removedMarkers = garbage.goneMarkers.filter((m) => first.deleted.has(m.key));
  const second = await deleteAllCas(ctx.transport, removedMarkers.flatMap((m) => m.tombstones), ctx.txnBatchSize);
  return {
    tombstonesRemoved: garbage.expiredTombstones.filter((t) => first.deleted.has(t.key)).length + second.deleted.size,
    markersRemoved: removedMarkers.length,
    keptChanged: first.lost + second.lost,
    unconfirmed,
    deferred: candidates.length - lookedUp,
  };
}

function scaleSetsOf(nodes: readonly wire.CatalogNode[]): Set<string> {
  return new Set(nodes.flatMap((n) => (n.Meta[NODE_META.scaleSetId] ? [n.Meta[NODE_META.scaleSetId]!.toLowerCase()] : [])));
}

/** Every key under the prefix, in one request. */
async function readKvTree(transport: ConsulTransport, kvPrefix: string): Promise<wire.KvEntry[]> {
  const res = await transport.call({ method: 'GET', path: `/kv/${encodePath(`${kvPrefix}/`)}`, query: { recurse: 'true' }, accept: [404] });
  if (res.status === 404) return [];
  return parseAnswer(wire.kvEntries, res.body, `kv ${kvPrefix}/`);
}

function splitEntries(kvPrefix: string, entries: readonly wire.KvEntry[]): { markers: MarkerRecord[]; tombstones: TombstoneRecord[] } {
  const markers: MarkerRecord[] = [];
  const tombstones: TombstoneRecord[] = [];
  for (const e of entries) {
    if (e.Key.startsWith(`${kvPrefix}/scale-sets/`)) {
      markers.push({ key: e.Key, modifyIndex: e.ModifyIndex, value: parseMarker(wire.decodeBase64(e.Value)) });
    } else if (e.Key.startsWith(`${kvPrefix}/tombstones/`)) {
      tombstones.push({ key: e.Key, modifyIndex: e.ModifyIndex, value: parseTombstone(wire.decodeBase64(e.Value)) });
    }
  }
  return { markers, tombstones };
}

/**
 * `delete-cas` of each key at its read index, `batchSize` per transaction. A batch that Consul rolls
 * back for stale comparisons is retried without the keys it names (they changed: kept).
 */
async function deleteAllCas(transport: ConsulTransport, keys: readonly KvKeyAt[], batchSize: number): Promise<{ deleted: Set<string>; lost: number }> {
  const deleted = new Set<string>();
  let lost = 0;
  const queue: KvKeyAt[][] = [];
  for (let i = 0; i < keys.length; i += batchSize) queue.push(keys.slice(i, i + batchSize));
  while (queue.length > 0) {
    const batch = queue.shift() as KvKeyAt[];
    const res = await transport.call({ method: 'PUT', path: '/txn', body: batch.map((k) => kvOps.deleteCas(k.key, k.modifyIndex)), accept: [409] });
    const answer = parseAnswer(wire.txnAnswer, res.body, 'txn');
    throwIfDenied(answer);
    if (res.status !== 409) {
      for (const k of batch) deleted.add(k.key);
      continue;
    }
    const failed = new Set(answer.Errors.map((e) => e.OpIndex));
    const rest = batch.filter((_, i) => !failed.has(i));
    if (rest.length === batch.length) {
      throw new InvalidInputError(`Consul rolled back a KV cleanup transaction without naming its operations: ${answer.Errors.map((e) => e.What).join('; ')}`);
    }
    lost += batch.length - rest.length;
    if (rest.length > 0) queue.unshift(rest);
  }
  return { deleted, lost };
}
