/**
 * Replays what Event Grid dead-lettered: lists the blobs (oldest first, optionally only those
 * written since a time), says for each event what the app does with it (the same classifier as
 * the function), and — unless it is a dry run — hands each event to `deliver` (the adapter runs
 * the real `vmssEvents` handler) and moves the blob aside once every event of it went through.
 *
 * A blob whose replay failed stays where it is (claim released) for the next run; a blob is
 * claimed while it is replayed, so two runs never replay it at once. Replays are idempotent
 * reconciles (events are hints), so "at least once" is the right side to err on: a run that
 * crashes between replaying and moving aside replays that blob again next time.
 */
import type { ScopeConfig } from '../config';
import { errorMessage, InvalidInputError } from '../errors';
import { classifyEvent } from '../events/delivery';
import type { EventOutcome } from '../events/outcome';
import { scopeMatcher } from '../events/scope';
import { describeRecord, parseDeadLetterBlob, type DeadLetteredEvent } from './dead-letter-blob';
import { DeadLetterStoreError, type DeadLetterBlobInfo, type DeadLetterStore } from './store';

/** What handing one event to the function gave: it completed (2xx to Event Grid) or failed (would be retried). */
export type DeliveryResult = { readonly ok: true; readonly log: readonly string[] } | { readonly ok: false; readonly error: string; readonly log: readonly string[] };

export interface ReplayOptions {
  readonly store: DeadLetterStore;
  /** Scope the explanation uses (the function applies its own settings when it runs). */
  readonly scope: ScopeConfig;
  /** Only blobs written at or after this time. */
  readonly since?: Date;
  /** Explain only: nothing is delivered, claimed or moved. */
  readonly dryRun: boolean;
  /** Runs one event through the function's code path. Required unless `dryRun`. Must not throw. */
  readonly deliver?: (event: DeadLetteredEvent) => Promise<DeliveryResult>;
  /** Called after every `progressEvery` blobs and after the last one (default every 25). */
  readonly onProgress?: (progress: ReplayProgress) => void;
  readonly progressEvery?: number;
  /** Called once per blob, as soon as it is done. */
  readonly onBlob?: (report: BlobReport) => void;
  /** Called once after listing, before the first blob. */
  readonly onListed?: (listed: { readonly total: number; readonly selected: number }) => void;
}

/** Per event: what the app does with it (the classifier's outcome), and what replaying it gave. */
export interface EventReport {
  readonly index: number;
  readonly eventId: string;
  /** Event Grid's record: why it gave up, after how many attempts. */
  readonly deadLetter: string;
  readonly outcome: EventOutcome | { readonly kind: 'malformed'; readonly error: string };
  readonly delivery?: DeliveryResult;
}

export type BlobStatus =
  /** Every event went through; the blob was moved aside. */
  | 'replayed'
  /** Dry run: what replaying would do. */
  | 'explained'
  /** An earlier run replayed it but stopped before moving it aside; moved aside now, not replayed again. */
  | 'already-replayed'
  /** At least one event failed; the blob stays for the next run. */
  | 'failed'
  /** Not a dead-letter blob (not a JSON array of events); left in place. */
  | 'unreadable'
  /** Claimed by another run right now. */
  | 'busy'
  /** Gone since listing (another run moved it). */
  | 'gone';

export interface BlobReport {
  readonly name: string;
  readonly lastModified: string;
  readonly status: BlobStatus;
  readonly events: readonly EventReport[];
  readonly error?: string;
}

export type ReplayCounts = Readonly<Record<BlobStatus, number>> & { readonly events: number };

export interface ReplayProgress {
  readonly processed: number;
  readonly total: number;
  readonly counts: ReplayCounts;
}

export interface ReplaySummary {
  readonly location: string;
  readonly dryRun: boolean;
  readonly since?: string;
  /** Dead-letter blobs in the container (not counting those already moved aside). */
  readonly listed: number;
  readonly selected: number;
  readonly counts: ReplayCounts;
  /** True when nothing failed or was unreadable. */
  readonly ok: boolean;
}

const FAILING: ReadonlySet<BlobStatus> = new Set(['failed', 'unreadable']);

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplaySummary> {
  const { store, dryRun } = options;
  const deliver = options.deliver;
  if (!dryRun && !deliver) throw new TypeError('replayDeadLetters: deliver is required unless dryRun');
  const progressEvery = options.progressEvery ?? 25;
  if (!Number.isInteger(progressEvery) || progressEvery < 1) throw new TypeError(`progressEvery must be a positive integer, got ${progressEvery}`);

  const listed: DeadLetterBlobInfo[] = [];
  for await (const blob of store.list()) listed.push(blob);
  const since = options.since?.getTime();
  const selected = listed
    .filter((blob) => since === undefined || blob.lastModified.getTime() >= since)
    .sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || a.name.localeCompare(b.name));
  options.onListed?.({ total: listed.length, selected: selected.length });

  const counts: Record<BlobStatus, number> & { events: number } = { replayed: 0, explained: 0, 'already-replayed': 0, failed: 0, unreadable: 0, busy: 0, gone: 0, events: 0 };
  const matcher = scopeMatcher(options.scope);
  const explainEvent = (event: DeadLetteredEvent): EventReport['outcome'] => {
    try {
      return classifyEvent(event.event, { matcher });
    } catch (error) {
      if (error instanceof InvalidInputError) return { kind: 'malformed', error: error.message };
      throw error;
    }
  };
  const baseReport = (event: DeadLetteredEvent): EventReport => ({ index: event.index, eventId: event.eventId, deadLetter: describeRecord(event.record), outcome: explainEvent(event) });

  let processed = 0;
  for (const blob of selected) {
    let report: BlobReport;
    try {
      report = dryRun ? await explainBlob(store, blob, baseReport) : await replayBlob(store, blob, baseReport, deliver as NonNullable<typeof deliver>);
    } catch (error) {
      // Storage trouble with one blob (a read, the move aside) fails that blob, not the run.
      if (!(error instanceof DeadLetterStoreError)) throw error;
      report = { name: blob.name, lastModified: blob.lastModified.toISOString(), status: 'failed', events: [], error: error.message };
    }
    counts[report.status] += 1;
    counts.events += report.status === 'replayed' || report.status === 'explained' ? report.events.length : 0;
    options.onBlob?.(report);
    processed += 1;
    if (processed % progressEvery === 0 || processed === selected.length) options.onProgress?.({ processed, total: selected.length, counts: { ...counts } });
  }
  return {
    location: store.location,
    dryRun,
    ...(options.since ? { since: options.since.toISOString() } : {}),
    listed: listed.length,
    selected: selected.length,
    counts: { ...counts },
    ok: [...FAILING].every((status) => counts[status] === 0),
  };
}

type BaseReport = (event: DeadLetteredEvent) => EventReport;

async function explainBlob(store: DeadLetterStore, blob: DeadLetterBlobInfo, baseReport: BaseReport): Promise<BlobReport> {
  const head = { name: blob.name, lastModified: blob.lastModified.toISOString() };
  const parsed = parse(await store.read(blob.name));
  if (!parsed.ok) return { ...head, status: 'unreadable', events: [], error: parsed.error };
  return { ...head, status: 'explained', events: parsed.events.map(baseReport) };
}

async function replayBlob(store: DeadLetterStore, blob: DeadLetterBlobInfo, baseReport: BaseReport, deliver: (event: DeadLetteredEvent) => Promise<DeliveryResult>): Promise<BlobReport> {
  const head = { name: blob.name, lastModified: blob.lastModified.toISOString() };
  const claimed = await store.claim(blob.name);
  if (claimed.kind !== 'claimed') return { ...head, status: claimed.kind, events: [] };
  const { claim } = claimed;
  let settled = false;
  try {
    const content = await claim.read();
    if (await claim.replayedBefore()) {
      await claim.moveAside(content);
      settled = true;
      return { ...head, status: 'already-replayed', events: [] };
    }
    const parsed = parse(content);
    if (!parsed.ok) return { ...head, status: 'unreadable', events: [], error: parsed.error };
    // One blob is one batch Event Grid gave up on: run its events together, as the host runs a
    // delivery's events (the reconciler coalesces those that name the same scale set).
    const events = await Promise.all(
      parsed.events.map(async (event): Promise<EventReport> => ({ ...baseReport(event), delivery: await deliver(event) })),
    );
    const failed = events.filter((e) => e.delivery?.ok === false).length;
    if (failed > 0) return { ...head, status: 'failed', events, error: `${failed} of ${events.length} event${events.length === 1 ? '' : 's'} failed; the blob stays for the next run` };
    await claim.moveAside(content);
    settled = true;
    return { ...head, status: 'replayed', events };
  } finally {
    if (!settled) await claim.release();
  }
}

function parse(content: string): { ok: true; events: DeadLetteredEvent[] } | { ok: false; error: string } {
  try {
    return { ok: true, events: parseDeadLetterBlob(content) };
  } catch (error) {
    if (error instanceof InvalidInputError) return { ok: false, error: `not a dead-letter blob: ${errorMessage(error)}` };
    throw error;
  }
}
