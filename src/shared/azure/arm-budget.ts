/**
 * ARM's read budget as ARM reports it: the `x-ms-ratelimit-remaining-*` headers of every answer,
 * recorded per subscription, and how the timer sweep paces itself on them.
 *
 * Headers read (on answers to GET/HEAD; see docs/arm-budget.md):
 *   x-ms-ratelimit-remaining-subscription-reads                  this principal's reads bucket
 *   x-ms-ratelimit-remaining-subscription-global-reads           the subscription's global bucket (all principals)
 *   x-ms-ratelimit-remaining-subscription-resource-requests      a provider's override of the reads limit
 *   x-ms-ratelimit-remaining-subscription-resource-entities-read a provider's limit on collection reads
 *   x-ms-ratelimit-remaining-resource                            `<RP>/<policy>;<count>`, comma-separated
 *                                                                (Compute: `Microsoft.Compute/HighCostGet3Min;159`)
 * A value that is not a non-negative integer is ignored and reported (`IgnoredBudgetHeader`), never
 * thrown: a budget header must not fail a listing.
 *
 * Two consumers: the process keeps the lowest value of each subscription over a window (what
 * `status` shows), and a sweep observes the readings of its own requests through an
 * AsyncLocalStorage scope (like arm-call-meter.ts), so it paces on what ARM answered it, however
 * many other reconciles share the clients. Each reconcile run observes its own readings too and
 * its report carries them (`RunBudgetReadings`): a sweep folds in those of every report it gets, so
 * a run it shares but did not start (one a hint started, outside the sweep's scope) counts as well.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const BUDGET_HEADERS = [
  'x-ms-ratelimit-remaining-subscription-reads',
  'x-ms-ratelimit-remaining-subscription-global-reads',
  'x-ms-ratelimit-remaining-subscription-resource-requests',
  'x-ms-ratelimit-remaining-subscription-resource-entities-read',
] as const;
export const RESOURCE_BUDGET_HEADER = 'x-ms-ratelimit-remaining-resource';

export interface BudgetReading {
  /** Lower-case subscription ID the request was made in. */
  readonly subscriptionId: string;
  /** The header, plus the policy for resource-provider headers (`x-ms-ratelimit-remaining-resource Microsoft.Compute/HighCostGet3Min`). */
  readonly source: string;
  readonly remaining: number;
  /** ms timestamp of the answer. */
  readonly at: number;
  /**
   * Strictly increasing in the order answers were read in this process: which of two readings is the
   * newer, where `at` (ms) may tie.
   */
  readonly seq: number;
}

let lastSeq = 0;

/** The next reading sequence number (`BudgetReading.seq`). */
export function nextReadingSeq(): number {
  lastSeq += 1;
  return lastSeq;
}

export interface IgnoredBudgetHeader {
  readonly subscriptionId: string;
  readonly header: string;
  /** The value as received (cut to 200 characters). */
  readonly value: string;
  readonly reason: string;
}

const COUNT = /^\d{1,15}$/;
const MAX_SHOWN = 200;

function shown(value: string): string {
  return value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
}

/**
 * The budget headers of one answer. `get` returns a header's value (undefined when absent); several
 * `x-ms-ratelimit-remaining-resource` headers arrive joined with commas, as HTTP joins them.
 */
export function parseBudgetHeaders(
  get: (name: string) => string | undefined,
  subscriptionId: string,
  at: number,
): { readonly readings: BudgetReading[]; readonly ignored: IgnoredBudgetHeader[] } {
  const readings: BudgetReading[] = [];
  const ignored: IgnoredBudgetHeader[] = [];
  const sub = subscriptionId.toLowerCase();
  for (const header of BUDGET_HEADERS) {
    const raw = get(header);
    if (raw === undefined) continue;
    const value = raw.trim();
    if (COUNT.test(value)) readings.push({ subscriptionId: sub, source: header, remaining: Number(value), at, seq: nextReadingSeq() });
    else ignored.push({ subscriptionId: sub, header, value: shown(raw), reason: 'expected a non-negative integer' });
  }
  const resource = get(RESOURCE_BUDGET_HEADER);
  if (resource !== undefined) {
    for (const part of resource.split(',')) {
      const entry = part.trim();
      if (entry === '') continue;
      const match = /^([^;\s]+)\s*;\s*(\S+)$/.exec(entry);
      if (match && COUNT.test(match[2]!)) {
        readings.push({ subscriptionId: sub, source: `${RESOURCE_BUDGET_HEADER} ${match[1]}`, remaining: Number(match[2]), at, seq: nextReadingSeq() });
      } else {
        ignored.push({ subscriptionId: sub, header: RESOURCE_BUDGET_HEADER, value: shown(entry), reason: 'expected <provider>/<policy>;<non-negative integer>' });
      }
    }
  }
  return { readings, ignored };
}

/** The subscription of an ARM request URL (`/subscriptions/<id>/…`), lower-cased; undefined for tenant-level calls. */
export function subscriptionOfUrl(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  return /^\/subscriptions\/([^/]+)/i.exec(path)?.[1]?.toLowerCase();
}

// ---- the process's record: lowest value per subscription over a window ----------------------------

export interface SubscriptionBudget {
  readonly subscriptionId: string;
  /** Lowest remaining count any read header reported within the window. */
  readonly lowestRemaining: number;
  /** Which header (and policy) reported it, and when. */
  readonly lowestSource: string;
  readonly lowestAt: string;
  /** The lowest of each header's latest value: where the budget stands now. */
  readonly latestRemaining: number;
  readonly latestAt: string;
}

/** Most distinct header sources kept per subscription (resource policies are few; bounds memory). */
const MAX_SOURCES = 32;
/** Most subscriptions kept; the oldest is dropped first. */
const MAX_SUBSCRIPTIONS = 256;

interface SourceRecord {
  latest: BudgetReading;
  /** Lowest value per minute (minute number → reading), pruned to the window. */
  minutes: Map<number, BudgetReading>;
}

export class ArmReadBudget {
  private readonly subscriptions = new Map<string, Map<string, SourceRecord>>();

  /** `windowMs`: how far back "recent" reaches (default 15 min: three timer periods of 5 min). */
  constructor(readonly windowMs = 15 * 60_000) {
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new TypeError(`windowMs must be a positive number of ms, got ${windowMs}`);
  }

  record(reading: BudgetReading): void {
    let sources = this.subscriptions.get(reading.subscriptionId);
    if (!sources) {
      if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) this.subscriptions.delete(this.subscriptions.keys().next().value as string);
      sources = new Map();
      this.subscriptions.set(reading.subscriptionId, sources);
    }
    let record = sources.get(reading.source);
    if (!record) {
      if (sources.size >= MAX_SOURCES) return;
      record = { latest: reading, minutes: new Map() };
      sources.set(reading.source, record);
    }
    if (reading.seq > record.latest.seq) record.latest = reading;
    const minute = Math.floor(reading.at / 60_000);
    const lowest = record.minutes.get(minute);
    if (!lowest || reading.remaining < lowest.remaining) record.minutes.set(minute, reading);
    this.prune(record, reading.at);
  }

  /** Per subscription seen within the window, sorted by ID. */
  snapshot(now = Date.now()): SubscriptionBudget[] {
    const out: SubscriptionBudget[] = [];
    for (const [subscriptionId, sources] of [...this.subscriptions].sort(([a], [b]) => a.localeCompare(b))) {
      let lowest: BudgetReading | undefined;
      let latest: BudgetReading | undefined;
      for (const record of sources.values()) {
        this.prune(record, now);
        for (const r of record.minutes.values()) if (!lowest || r.remaining < lowest.remaining) lowest = r;
        if (now - record.latest.at <= this.windowMs && (!latest || record.latest.remaining < latest.remaining)) latest = record.latest;
      }
      if (!lowest || !latest) continue;
      out.push({
        subscriptionId,
        lowestRemaining: lowest.remaining,
        lowestSource: lowest.source,
        lowestAt: new Date(lowest.at).toISOString(),
        latestRemaining: latest.remaining,
        latestAt: new Date(latest.at).toISOString(),
      });
    }
    return out;
  }

  private prune(record: SourceRecord, now: number): void {
    const oldest = Math.floor((now - this.windowMs) / 60_000);
    for (const minute of record.minutes.keys()) if (minute < oldest) record.minutes.delete(minute);
  }
}

/**
 * The process's record, which ARM clients feed unless given their own: ARM's budget belongs to the
 * subscription and principal, not to one client object, and `status` reads it from here.
 */
export const processArmReadBudget = new ArmReadBudget();

// ---- scoped observation (a sweep sees the readings of its own requests) ---------------------------

export interface BudgetObserver {
  onReading(reading: BudgetReading): void;
}

const scopes = new AsyncLocalStorage<readonly BudgetObserver[]>();

/** Runs `work`; every budget reading of an ARM request made inside it (however deep) goes to `observer`. */
export function observeArmBudget<T>(observer: BudgetObserver, work: () => Promise<T>): Promise<T> {
  return scopes.run([...(scopes.getStore() ?? []), observer], work);
}

/** Hands a reading to the observers of the current scope (called by the ARM clients' policy). */
export function reportToObservers(reading: BudgetReading): void {
  for (const observer of scopes.getStore() ?? []) {
    try {
      observer.onReading(reading);
    } catch {
      // an observer's failure is its own; the request goes on
    }
  }
}

/** Readings of one subscription and header replace each other (the newer, by `seq`). */
function readingKey(reading: BudgetReading): string {
  return `${reading.subscriptionId} ${reading.source}`;
}

/**
 * The readings one reconcile run saw (it observes its own requests), carried on its report: the
 * latest of each (subscription, header) and the lowest of all, in the order they were read. Whoever
 * gets the report (a hint, or a sweep that shared the run) sees them, whichever async context
 * started the run.
 */
export class RunBudgetReadings implements BudgetObserver {
  private readonly latest = new Map<string, BudgetReading>();
  private lowest: BudgetReading | undefined;

  onReading(reading: BudgetReading): void {
    const key = readingKey(reading);
    const previous = this.latest.get(key);
    if (!previous || reading.seq > previous.seq) this.latest.set(key, reading);
    if (!this.lowest || reading.remaining < this.lowest.remaining) this.lowest = reading;
  }

  /** A handful at most: one per subscription and header, plus the lowest when it was not the latest. */
  list(): BudgetReading[] {
    const kept = new Set(this.latest.values());
    if (this.lowest) kept.add(this.lowest);
    return [...kept].sort((a, b) => a.seq - b.seq);
  }
}

// ---- pacing ---------------------------------------------------------------------------------------

export type BudgetLevel = 'normal' | 'low' | 'critical';

export interface PacingThresholds {
  /** Below this many remaining reads the sweep halves its concurrency and pauses `lowSpreadMs` between scale sets. Default 100. */
  readonly low: number;
  /** Below this many, one scale set at a time with `criticalSpreadMs` between them. Default 25 (one second of ARM's refill). */
  readonly critical: number;
  /** Default 1 000 ms. */
  readonly lowSpreadMs: number;
  /** Default 3 000 ms. */
  readonly criticalSpreadMs: number;
}

export const DEFAULT_PACING: PacingThresholds = { low: 100, critical: 25, lowSpreadMs: 1000, criticalSpreadMs: 3000 };

/** Fills in the defaults and rejects values that cannot work (TypeError naming the option). */
export function resolvePacing(options: Partial<PacingThresholds> = {}): PacingThresholds {
  const p = { ...DEFAULT_PACING, ...options };
  const count = (name: keyof PacingThresholds) => {
    const v = p[name];
    if (!(Number.isInteger(v) && v >= 0 && v <= 1_000_000)) throw new TypeError(`armBudget.${name} must be an integer from 0 to 1000000 (remaining reads), got ${String(v)}`);
  };
  const delay = (name: keyof PacingThresholds) => {
    const v = p[name];
    if (!(Number.isFinite(v) && v >= 0 && v <= 60_000)) throw new TypeError(`armBudget.${name} must be a number of ms from 0 to 60000, got ${String(v)}`);
  };
  count('low');
  count('critical');
  delay('lowSpreadMs');
  delay('criticalSpreadMs');
  if (p.critical > p.low) throw new TypeError(`armBudget.critical (${p.critical}) must not be above armBudget.low (${p.low})`);
  return p;
}

export function budgetLevel(remaining: number | undefined, thresholds: PacingThresholds): BudgetLevel {
  if (remaining === undefined) return 'normal';
  if (remaining < thresholds.critical) return 'critical';
  return remaining < thresholds.low ? 'low' : 'normal';
}

export interface Pacing {
  readonly level: BudgetLevel;
  /** Scale sets (sweep units) started at the same time. */
  readonly concurrency: number;
  /** Pause of each worker before it starts its next scale set. */
  readonly spreadMs: number;
}

export function pacingFor(level: BudgetLevel, configuredConcurrency: number, thresholds: PacingThresholds): Pacing {
  switch (level) {
    case 'normal':
      return { level, concurrency: configuredConcurrency, spreadMs: 0 };
    case 'low':
      return { level, concurrency: Math.max(1, Math.ceil(configuredConcurrency / 2)), spreadMs: thresholds.lowSpreadMs };
    case 'critical':
      return { level, concurrency: 1, spreadMs: thresholds.criticalSpreadMs };
  }
}

/**
 * How long a reading counts for a sweep's pace. A header the sweep does not hear again (reported on a
 * kind of request it made once, e.g. `-resource-entities-read` on a NIC group listing) stops holding
 * it back after this; the headers of the requests it keeps making are renewed all along.
 */
export const PACING_READING_MAX_AGE_MS = 30_000;

export interface SweepBudgetWatchOptions {
  /** The clock readings are aged by (default `Date.now`). */
  readonly now?: () => number;
  /** Default `PACING_READING_MAX_AGE_MS`. */
  readonly maxAgeMs?: number;
}

/**
 * What one sweep saw: the latest value of each (subscription, header) — where the budget stands — and
 * the lowest value of all. The level follows the lowest *latest* value among readings younger than
 * `maxAgeMs`, so it recovers when ARM's bucket refills or a header is not reported again.
 */
export class SweepBudgetWatch implements BudgetObserver {
  private readonly latest = new Map<string, { readonly reading: BudgetReading; readonly seenAt: number }>();
  private lowestSeen: BudgetReading | undefined;
  private readonly now: () => number;
  private readonly maxAgeMs: number;

  /** `onChange` is called after every reading (the sweep re-decides its pacing). */
  constructor(
    private readonly onChange: () => void = () => undefined,
    options: SweepBudgetWatchOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxAgeMs = options.maxAgeMs ?? PACING_READING_MAX_AGE_MS;
  }

  onReading(reading: BudgetReading): void {
    this.take(reading, this.now());
  }

  /**
   * The readings a run reported (`RunBudgetReadings`), for a run the sweep got the report of but did
   * not observe (one a hint started, which the sweep joined). Each counts from when ARM answered it
   * (`at`, the same clock as `now` outside tests), not from the fold: a reading heard early in a long
   * run is no fresher for arriving at its end. A reading already seen changes nothing.
   */
  fold(readings: readonly BudgetReading[]): void {
    const now = this.now();
    for (const reading of readings) this.take(reading, Math.min(now, reading.at));
  }

  private take(reading: BudgetReading, seenAt: number): void {
    const key = readingKey(reading);
    const previous = this.latest.get(key);
    // An older answer read later (lower seq) does not replace a newer one.
    if (!previous || reading.seq > previous.reading.seq) this.latest.set(key, { reading, seenAt });
    if (!this.lowestSeen || reading.remaining < this.lowestSeen.remaining) this.lowestSeen = reading;
    this.onChange();
  }

  /** The lowest of the latest values still young enough to count (undefined when there is none). */
  current(): BudgetReading | undefined {
    const now = this.now();
    let low: BudgetReading | undefined;
    for (const { reading, seenAt } of this.latest.values()) {
      if (now - seenAt > this.maxAgeMs) continue;
      if (!low || reading.remaining < low.remaining) low = reading;
    }
    return low;
  }

  /** The lowest value any reading of the sweep had. */
  get lowest(): BudgetReading | undefined {
    return this.lowestSeen;
  }
}
