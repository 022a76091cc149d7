/**
 * The Consul registry: the only code that writes to Consul. It reads back only what carries our
 * marks (catalog reads through a CatalogReader, catalog-reader.ts; its own KV reads here) and makes
 * concurrent reconciles of one scale set safe:
 *
 *  a) the reconciler lists ARM first and remembers `listedAt` (taken before listing);
 *  b) `beginReconcile` reads the scale set's marker; a marker with a newer (or equally new, from
 *     another run) `listedAt` means a fresher listing already claimed → SupersededError. Otherwise
 *     it claims the marker with a KV CAS (re-reading and deciding again when the CAS loses; each
 *     loss is a claim with a listedAt between the marker's and ours, or such a run's summary, so
 *     this ends);
 *  c) only then it reads our nodes of the scale set and its tombstones;
 *  d) `session.apply` writes in transactions fenced by the marker's claimed index (session.ts);
 *  e) and records the summary on the marker for the status function.
 *
 * Deferred claim (a run that will write nothing needs no fence): when the marker read in b) shows a
 * finished run (its summary is the marker's last write: `lastReconcile.runId === runId`), no fence
 * is valid — every fence is a claim's index and any later marker write kills it — so nothing can
 * commit to the scale set until someone claims, which moves the marker. The run then reads in c)
 * without claiming, and `apply` writes the marker with a CAS at the index b) read: the summary
 * alone (claim and summary in one write) when the plan writes nothing, else the claim before the
 * first batch. A successful CAS proves the marker did not move since b), so what c) read is still
 * the truth, exactly as if the claim had come first. A lost CAS (someone claimed after b), perhaps
 * an older listing) gives ClaimLostError: nothing was written, and the caller begins again with
 * the claim first (`claimFirst`), so an older listing still cannot win. A nothing-changed sweep
 * thus writes one marker per scale set instead of two.
 *
 * Why this is safe: claims succeed in increasing `listedAt` order, and after a claim no older
 * claimer can commit (its fence fails). The last claimer reads after its claim, so it plans from
 * everything committed before it; nothing can commit after it unless a newer claim supersedes it.
 * Tombstones add the second guard: a node removed as gone cannot be registered again until its
 * tombstone expires, even by a claimer whose clock-stamped listing is older than the removal. They
 * guard against stale listings only: a listing that started after the tombstone was written (by
 * more than TOMBSTONE_FRESH_LISTING_MARGIN_MS, tombstone.ts) may register the node again, deleting
 * the tombstone in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import type { AppConfig, ConsulConfig } from '../config';
import type { ServiceEndpointSet } from '../endpoints';
import { InvalidInputError, SupersededError, TransientError } from '../errors';
import type { OwnedNode } from '../model';
import { NODE_META, markerKey, tombstoneKey } from '../ownership';
import type { BeginReconcileOptions, KvCleanupReport, KvCleanupRequest, ReconcileState, RegistryPort } from '../reconcile/ports';
import { CatalogReader } from './catalog-reader';
import { cleanupKv } from './kv-garbage-sweep';
import type { MarkerRecord, MarkerValue } from './marker';
import { parseMarker, serializeMarker } from './marker';
import type { ExpiredTombstone } from './plan-units';
import { isTombstoneExpired, isTombstoneLifted, parseTombstone } from './tombstone';
import { ConsulReconcileSession, throwIfDenied } from './session';
import type { ReconcileHooks, ReconcileStep } from './session';
import { ConsulTransport, encodePath, parseAnswer } from './transport';
import * as wire from './wire';

export interface ConsulRegistryOptions {
  readonly consul: ConsulConfig;
  /** KV prefix of markers and tombstones, without trailing slash (VMSS_MESH_KV_PREFIX). */
  readonly kvPrefix: string;
  /** Operations per transaction, marker check included (VMSS_MESH_TXN_BATCH_SIZE). */
  readonly txnBatchSize: number;
  readonly tombstoneTtlMs: number;
  /** Clock for claims, tombstones and summaries; default Date.now. */
  readonly now?: () => number;
  /** Default random UUIDs. */
  readonly newRunId?: () => string;
  /** Deadline of one non-blocking Consul request; default 10 s. */
  readonly requestTimeoutMs?: number;
  /**
   * How often a claim that lost its CAS is re-decided before giving up (TransientError); default 10.
   * Each loss is another run's claim (with a listedAt between the marker's and ours) or the summary
   * that run writes when it finishes, so k concurrent runs cost at most 2k losses.
   */
  readonly maxClaimAttempts?: number;
  readonly hooks?: ReconcileHooks;
}

export interface BeginOptions extends BeginReconcileOptions {
  readonly runId?: string;
  /** Replaces the registry's hooks for this reconcile. */
  readonly hooks?: ReconcileHooks;
}

/** The registry's settings from the app's configuration. */
export function registryOptionsFrom(config: AppConfig): ConsulRegistryOptions {
  return { consul: config.consul, kvPrefix: config.kvPrefix, txnBatchSize: config.txnBatchSize, tombstoneTtlMs: config.tombstoneTtlMs };
}

/** How far another host's clock may run ahead before its marker is treated as stale. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

const SCALE_SET_ID = /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.compute\/virtualmachinescalesets\/[^/]+$/;

export class ConsulRegistry implements RegistryPort {
  private readonly transport: ConsulTransport;
  /** Every catalog read goes through it (on the same transport); the registry adds KV and writes. */
  private readonly catalog: CatalogReader;
  private readonly options: Required<Omit<ConsulRegistryOptions, 'hooks' | 'requestTimeoutMs'>> & { hooks: ReconcileHooks };

  constructor(options: ConsulRegistryOptions) {
    if (!Number.isInteger(options.txnBatchSize) || options.txnBatchSize < 2) {
      throw new TypeError(`txnBatchSize must be an integer ≥ 2 (the marker check plus one operation), got ${options.txnBatchSize}`);
    }
    if (!/^[^/].*[^/]$|^[^/]$/.test(options.kvPrefix)) throw new TypeError(`kvPrefix must not start or end with "/", got ${JSON.stringify(options.kvPrefix)}`);
    if (!(options.tombstoneTtlMs >= 0)) throw new TypeError(`tombstoneTtlMs must be ≥ 0, got ${options.tombstoneTtlMs}`);
    this.transport = new ConsulTransport(options.consul, { timeoutMs: options.requestTimeoutMs });
    this.catalog = new CatalogReader(this.transport);
    this.options = {
      consul: options.consul,
      kvPrefix: options.kvPrefix,
      txnBatchSize: options.txnBatchSize,
      tombstoneTtlMs: options.tombstoneTtlMs,
      now: options.now ?? Date.now,
      newRunId: options.newRunId ?? randomUUID,
      maxClaimAttempts: options.maxClaimAttempts ?? 10,
      hooks: options.hooks ?? {},
    };
  }

  /** Claims the scale set for a reconcile whose ARM listing started at `listedAt`, then reads our state of it. */
  async beginReconcile(scaleSetId: string, listedAt: number, begin: BeginOptions = {}): Promise<ConsulReconcileSession> {
    const id = checkedScaleSetId(scaleSetId);
    if (!Number.isFinite(listedAt) || listedAt < 0) throw new InvalidInputError(`must be a non-negative ms timestamp, got ${listedAt}`, 'listedAt');
    const runId = begin.runId ?? this.options.newRunId();
    const hooks = begin.hooks ?? this.options.hooks;
    const step = async (s: ReconcileStep): Promise<void> => {
      await hooks.beforeStep?.(s, { scaleSetId: id, runId });
    };
    const key = markerKey(this.options.kvPrefix, id);

    let claim: { index: number; value: MarkerValue; deferred: boolean } | undefined;
    for (let attempt = 1; !claim && attempt <= this.options.maxClaimAttempts; attempt += 1) {
      await step({ kind: 'read-marker', attempt });
      const current = await this.readKv(key, true);
      const previous = current ? parseMarker(wire.decodeBase64(current.Value)) : null;
      // Ties lose too: two equally fresh listings would otherwise steal the claim from each other
      // without end (the concurrency property test found that livelock). Only our own claim, seen
      // again, is not a competitor.
      // A marker stamped further in the future than clocks can plausibly disagree (a host with a
      // wrong clock) would lock the scale set until real time caught up: it counts as stale.
      const fromTheFuture = previous !== null && previous.listedAt > this.options.now() + MAX_CLOCK_SKEW_MS;
      if (previous && !fromTheFuture && (previous.listedAt > listedAt || (previous.listedAt === listedAt && previous.runId !== runId))) {
        throw new SupersededError(
          id,
          `reconcile ${runId} of ${id} superseded before it started: run ${previous.runId} already claimed it with a listing from ${iso(previous.listedAt)}, not older than this one from ${iso(listedAt)}`,
        );
      }
      const value: MarkerValue = { scaleSetId: id, listedAt, runId, claimedAt: this.options.now(), ...(previous?.lastReconcile ? { lastReconcile: previous.lastReconcile } : {}) };
      if (!begin.claimFirst && current && previous && !fromTheFuture && previous.lastReconcile?.runId === previous.runId) {
        claim = { index: current.ModifyIndex, value, deferred: true };
        break;
      }
      await step({ kind: 'claim', attempt });
      const res = await this.transport.call({
        method: 'PUT',
        path: '/txn',
        body: [{ KV: { Verb: 'cas', Key: key, Value: Buffer.from(serializeMarker(value)).toString('base64'), Index: current?.ModifyIndex ?? 0 } }],
        accept: [409],
      });
      const answer = parseAnswer(wire.txnAnswer, res.body, 'txn');
      throwIfDenied(answer);
      if (res.status === 409) continue; // another reconcile claimed in between: read again and decide again
      const index = answer.Results[0]?.KV?.ModifyIndex;
      if (!index) throw new InvalidInputError(`Consul's answer to the claim of ${id} carries no ModifyIndex`);
      claim = { index, value, deferred: false };
    }
    if (!claim) {
      throw new TransientError(`could not claim ${id} in ${this.options.maxClaimAttempts} attempts: other reconciles kept claiming it`, 'consul');
    }

    await step({ kind: 'read-actual' });
    const { actual, released, seen, live, expired, lifted } = await this.readState(id, listedAt);
    return new ConsulReconcileSession({
      transport: this.transport,
      scaleSetId: id,
      runId,
      listedAt,
      markerKey: key,
      claim: claim.deferred ? { kind: 'deferred', markerIndex: claim.index } : { kind: 'claimed', index: claim.index },
      claimed: claim.value,
      kvPrefix: this.options.kvPrefix,
      txnBatchSize: this.options.txnBatchSize,
      now: this.options.now,
      hooks,
      actual,
      released,
      seen,
      tombstones: live,
      expiredTombstones: expired,
      liftedTombstones: lifted,
    });
  }

  /**
   * What `beginReconcile` reads, read the same way (linearizable) but without reading or claiming
   * the marker: nothing is written. For dry runs (see RegistryPort.readReconcileState).
   */
  async readReconcileState(scaleSetId: string, listedAt: number): Promise<ReconcileState> {
    const id = checkedScaleSetId(scaleSetId);
    if (!Number.isFinite(listedAt) || listedAt < 0) throw new InvalidInputError(`must be a non-negative ms timestamp, got ${listedAt}`, 'listedAt');
    const { actual, live, lifted } = await this.readState(id, listedAt);
    return { actual, tombstones: live, liftedTombstones: new Set(lifted.map((t) => t.node)) };
  }

  /** Every node we own, of every scale set (for status). */
  listOwned(): Promise<OwnedNode[]> {
    return this.catalog.ownedNodes();
  }

  /** Every scale set's marker, sorted by key. */
  async listMarkers(): Promise<MarkerRecord[]> {
    const res = await this.transport.call({
      method: 'GET',
      path: `/kv/${encodePath(`${this.options.kvPrefix}/scale-sets/`)}`,
      query: { recurse: 'true' },
      accept: [404],
    });
    if (res.status === 404) return [];
    return parseAnswer(wire.kvEntries, res.body, 'markers')
      .map((e) => ({ key: e.Key, modifyIndex: e.ModifyIndex, value: parseMarker(wire.decodeBase64(e.Value)) }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** The scale set of the node we hold for a VM (CatalogReader.scaleSetOfInstance). */
  scaleSetOfInstance(vmResourceId: string): Promise<string | null> {
    return this.catalog.scaleSetOfInstance(vmResourceId);
  }

  async hasOwnedNodes(scaleSetId: string): Promise<boolean> {
    return (await this.catalog.ownedNodeRecords({ scaleSetId: checkedScaleSetId(scaleSetId) })).length > 0;
  }

  async knowsScaleSet(scaleSetId: string): Promise<boolean> {
    const id = checkedScaleSetId(scaleSetId);
    const [nodes, marker] = await Promise.all([this.hasOwnedNodes(id), this.readKv(markerKey(this.options.kvPrefix, id), false)]);
    return nodes || marker !== null;
  }

  /**
   * Scale sets we hold nodes for, plus those whose marker does not show a finished reconcile that
   * left zero nodes (a claimed run may have crashed after writing). Markers stay while their scale
   * set exists (they fence stale listings), so a scale set emptied long ago is not visited again
   * and again; only the sweep's KV cleanup deletes those of scale sets ARM no longer has.
   */
  async ownedScaleSetIds(): Promise<string[]> {
    const [nodes, markers] = await Promise.all([this.catalog.ownedNodeRecords(), this.listMarkers()]);
    const ids = new Set<string>();
    for (const n of nodes) if (n.Meta[NODE_META.scaleSetId]) ids.add(n.Meta[NODE_META.scaleSetId] as string);
    for (const m of markers) if (m.value && m.value.lastReconcile?.instanceCount !== 0) ids.add(m.value.scaleSetId);
    return [...ids].sort();
  }

  /** Our endpoints of each named service with the Consul index they were read at (what a push carries). */
  serviceEndpoints(services: readonly string[]): Promise<ServiceEndpointSet[]> {
    return this.catalog.serviceEndpoints(services);
  }

  /** Once per timer sweep: expired tombstones and markers of deleted scale sets (kv-garbage-sweep.ts). */
  cleanupKv(request: KvCleanupRequest): Promise<KvCleanupReport> {
    const { kvPrefix, txnBatchSize, tombstoneTtlMs, now } = this.options;
    return cleanupKv({ transport: this.transport, kvPrefix, txnBatchSize, tombstoneTtlMs, now }, request);
  }

  close(): void {
    this.transport.close();
  }

  /** One scale set's state as a reconcile plans from it: our nodes (and what surrounds them) and its tombstones. */
  private async readState(id: string, listedAt: number) {
    const { owned: actual, released, seen } = await this.catalog.ownedState({ scaleSetId: id, consistent: true });
    const { live, expired, lifted } = await this.readTombstones(id, listedAt);
    return { actual, released, seen, live, expired, lifted };
  }

  private async readKv(key: string, consistent: boolean): Promise<wire.KvEntry | null> {
    const res = await this.transport.call({ method: 'GET', path: `/kv/${encodePath(key)}`, query: consistent ? { consistent: '' } : {}, accept: [404] });
    if (res.status === 404) return null;
    return parseAnswer(wire.kvEntries, res.body, `kv ${key}`)[0] ?? null;
  }

  /**
   * A scale set's tombstones for a run whose listing started at `listedAt`: expired, lifted (written
   * before that listing started: tombstone.ts) or live. Unreadable ones count as live: a removed
   * instance must not come back by accident.
   */
  private async readTombstones(scaleSetId: string, listedAt: number): Promise<{ live: Set<string>; expired: ExpiredTombstone[]; lifted: ExpiredTombstone[] }> {
    const prefix = tombstoneKey(this.options.kvPrefix, scaleSetId, '');
    const res = await this.transport.call({ method: 'GET', path: `/kv/${encodePath(prefix)}`, query: { recurse: 'true', consistent: '' }, accept: [404] });
    const live = new Set<string>();
    const expired: ExpiredTombstone[] = [];
    const lifted: ExpiredTombstone[] = [];
    if (res.status === 404) return { live, expired, lifted };
    const now = this.options.now();
    for (const entry of parseAnswer(wire.kvEntries, res.body, 'tombstones')) {
      const node = entry.Key.slice(prefix.length);
      if (!node || node.includes('/')) continue;
      const value = parseTombstone(wire.decodeBase64(entry.Value));
      const at = { node, key: entry.Key, modifyIndex: entry.ModifyIndex };
      if (isTombstoneExpired(value, this.options.tombstoneTtlMs, now)) expired.push(at);
      else if (isTombstoneLifted(value, listedAt)) lifted.push(at);
      else live.add(node);
    }
    return { live, expired, lifted };
  }
}

function checkedScaleSetId(scaleSetId: string): string {
  const id = scaleSetId.toLowerCase();
  if (!SCALE_SET_ID.test(id)) throw new InvalidInputError(`not a scale set resource ID: ${JSON.stringify(scaleSetId)}`, 'scaleSetId');
  return id;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
