/**
 * ARM's two ways of saying "slow down": token buckets per subscription and operation kind (reads,
 * writes, deletes; the principal's and the subscription's global one, and optionally a resource
 * provider's read policies) whose remainders every response reports in `x-ms-ratelimit-remaining-*`,
 * and, for tests, injected faults ("throttle the next N requests with Retry-After S", "fail the next N").
 * Also the count of requests in flight (`ConcurrencyCounter`) and a hold that gathers N requests in flight at once (`Gathering`).
 */
export type OperationKind = 'reads' | 'writes' | 'deletes';

export interface BucketSettings {
  /** Burst size. */
  readonly capacity: number;
  /** Tokens added per second. */
  readonly refillPerSecond: number;
}

/** ARM's published defaults per subscription and principal (reads 250 burst / 25 per second, writes and deletes 200 / 10). */
export const DEFAULT_RATE_LIMITS: Readonly<Record<OperationKind, BucketSettings>> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
};

export function operationKind(method: string): OperationKind {
  if (method === 'GET' || method === 'HEAD') return 'reads';
  return method === 'DELETE' ? 'deletes' : 'writes';
}

/**
 * ARM's global subscription limit: for each operation kind, 15 times one principal's limit, shared by
 * every principal ("Understand how Azure Resource Manager throttles requests"). The emulator knows
 * one principal, so it is never the first to run out; it is reported as ARM does.
 */
export const GLOBAL_LIMIT_FACTOR = 15;

/**
 * A resource provider's own read policy, reported in `x-ms-ratelimit-remaining-resource` as
 * `<name>;<remaining>` on reads under `/providers/<RP>/` (the RP is `name` up to its first `/`).
 */
export interface ResourcePolicy extends BucketSettings {
  /** `<RP>/<policy>`, e.g. `Microsoft.Compute/HighCostGet3Min`. */
  readonly name: string;
}

/**
 * Compute's read policies as its answers name them (3- and 30-minute windows as token buckets: the
 * 3-minute one refills its burst in 3 minutes). Not on by default: pass them as `resourcePolicies`.
 */
export const COMPUTE_READ_POLICIES: readonly ResourcePolicy[] = [
  { name: 'Microsoft.Compute/HighCostGet3Min', capacity: 200, refillPerSecond: 200 / 180 },
  { name: 'Microsoft.Compute/HighCostGet30Min', capacity: 1300, refillPerSecond: 1300 / 1800 },
];

class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly settings: BucketSettings,
    now: number,
  ) {
    this.tokens = settings.capacity;
    this.updatedAt = now;
  }

  /** Tokens now (refilled up to `now`). */
  level(now: number): number {
    const { capacity, refillPerSecond } = this.settings;
    this.tokens = Math.min(capacity, this.tokens + (Math.max(0, now - this.updatedAt) / 1000) * refillPerSecond);
    this.updatedAt = Math.max(this.updatedAt, now);
    return this.tokens;
  }

  /** Seconds until one token is there (≥ 1, as ARM's Retry-After). */
  retryAfterSeconds(now: number): number {
    return Math.max(1, Math.ceil((1 - this.level(now)) / this.settings.refillPerSecond));
  }

  take(): number {
    this.tokens -= 1;
    return Math.floor(this.tokens);
  }
}

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limits: Readonly<Record<OperationKind, BucketSettings>>,
    private readonly resourcePolicies: readonly ResourcePolicy[] = [],
  ) {
    for (const policy of resourcePolicies) {
      if (!/^[^/]+\/[^/]+$/.test(policy.name)) throw new TypeError(`resource policy name must be <provider>/<policy>, got ${JSON.stringify(policy.name)}`);
      if (!(policy.capacity >= 1 && policy.refillPerSecond > 0)) throw new TypeError(`resource policy ${policy.name} needs capacity ≥ 1 and refillPerSecond > 0`);
    }
  }

  /** Takes a token; answers what is left, or how long to wait when none is. */
  take(subscriptionId: string, kind: OperationKind, now = Date.now()): { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number } {
    const bucket = this.bucket(`${subscriptionId.toLowerCase()}/${kind}`, this.limits[kind], now);
    if (bucket.level(now) < 1) return { allowed: false, retryAfterSeconds: bucket.retryAfterSeconds(now) };
    return { allowed: true, remaining: bucket.take() };
  }

  /**
   * Charges one request to every bucket it falls under — the principal's, the subscription's global
   * one, and for reads the resource provider's policies — all or none, and answers the
   * `x-ms-ratelimit-remaining-*` headers ARM would send (on a 429 too, with 0 where a bucket is empty).
   */
  charge(subscriptionId: string, method: string, path: string, now = Date.now()): { readonly allowed: boolean; readonly retryAfterSeconds?: number; readonly headers: Record<string, string> } {
    const sub = subscriptionId.toLowerCase();
    const kind = operationKind(method);
    const own = this.limits[kind];
    const charged: Array<{ header: string; policy?: string; bucket: TokenBucket }> = [
      { header: `x-ms-ratelimit-remaining-subscription-${kind}`, bucket: this.bucket(`${sub}/${kind}`, own, now) },
      {
        header: `x-ms-ratelimit-remaining-subscription-global-${kind}`,
        bucket: this.bucket(`${sub}/global-${kind}`, { capacity: own.capacity * GLOBAL_LIMIT_FACTOR, refillPerSecond: own.refillPerSecond * GLOBAL_LIMIT_FACTOR }, now),
      },
    ];
    if (kind === 'reads') {
      const lower = path.toLowerCase();
      for (const policy of this.resourcePolicies) {
        const provider = policy.name.slice(0, policy.name.indexOf('/')).toLowerCase();
        if (lower.includes(`/providers/${provider}/`)) charged.push({ header: 'x-ms-ratelimit-remaining-resource', policy: policy.name, bucket: this.bucket(`${sub}/resource/${policy.name}`, policy, now) });
      }
    }
    const empty = charged.filter((c) => c.bucket.level(now) < 1);
    const remaining = empty.length > 0 ? charged.map((c) => Math.floor(c.bucket.level(now))) : charged.map((c) => c.bucket.take());
    const headers: Record<string, string> = {};
    const resource: string[] = [];
    charged.forEach((c, i) => {
      if (c.policy === undefined) headers[c.header] = String(remaining[i]);
      else resource.push(`${c.policy};${remaining[i]}`);
    });
    if (resource.length > 0) headers['x-ms-ratelimit-remaining-resource'] = resource.join(',');
    if (empty.length === 0) return { allowed: true, headers };
    return { allowed: false, retryAfterSeconds: Math.max(...empty.map((c) => c.bucket.retryAfterSeconds(now))), headers };
  }

  private bucket(id: string, settings: BucketSettings, now: number): TokenBucket {
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = new TokenBucket(settings, now);
      this.buckets.set(id, bucket);
    }
    return bucket;
  }
}

/**
 * Requests being answered, now and at most (overall and per route name): how tests see a client's
 * concurrency without timing it.
 */
export class ConcurrencyCounter {
  private current = 0;
  private highest = 0;
  private readonly byRoute = new Map<string, { current: number; highest: number }>();

  /** Counts a request in; call the returned function once when it has been answered. */
  enter(route: string | null): () => void {
    const key = route ?? '(none)';
    const counts = this.byRoute.get(key) ?? { current: 0, highest: 0 };
    this.byRoute.set(key, counts);
    this.current += 1;
    counts.current += 1;
    this.highest = Math.max(this.highest, this.current);
    counts.highest = Math.max(counts.highest, counts.current);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.current -= 1;
      counts.current -= 1;
    };
  }

  get inFlight(): number {
    return this.current;
  }

  /** Most requests in flight at once since start or `reset()` (of one route when named). */
  max(route?: string): number {
    return route === undefined ? this.highest : (this.byRoute.get(route)?.highest ?? 0);
  }

  /** Starts the maxima again from what is in flight now. */
  reset(): void {
    this.highest = this.current;
    for (const counts of this.byRoute.values()) counts.highest = counts.current;
  }
}

/**
 * Holds requests until `together` of them are held at once, then lets them all go on; one held
 * longer than `deadlineMs` goes on alone (counted in `timedOut`). How a test makes "N requests in
 * flight at once" happen whenever the client allows N, with no time window to miss under load.
 */
export class Gathering {
  private readonly held = new Set<() => void>();
  private deadlines = 0;

  constructor(
    readonly together: number,
    readonly deadlineMs: number,
  ) {
    if (!Number.isInteger(together) || together < 1) throw new TypeError(`together must be a positive integer, got ${together}`);
    if (!Number.isFinite(deadlineMs) || deadlineMs < 0) throw new TypeError(`deadlineMs must be a non-negative number, got ${deadlineMs}`);
  }

  /** Resolves when this request may go on: `together` are held (this one included), or `deadline` resolved first. */
  join(deadline: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const release = (byDeadline: boolean) => {
        if (!this.held.delete(go)) return;
        if (byDeadline) this.deadlines += 1;
        resolve();
      };
      const go = () => release(false);
      this.held.add(go);
      void deadline.then(() => release(true));
      if (this.held.size >= this.together) for (const each of [...this.held]) each();
    });
  }

  /** Requests held now. */
  get waiting(): number {
    return this.held.size;
  }

  /** Requests that went on alone because their deadline passed before `together` were held. */
  get timedOut(): number {
    return this.deadlines;
  }
}

/** Which requests a fault applies to; all given fields must match. */
export interface FaultMatch {
  readonly method?: string;
  /** Route name, e.g. `vmssVm.list`. */
  readonly route?: string;
  /** Case-insensitive substring of the path. */
  readonly pathIncludes?: string;
  /** Let this many matching requests through before the fault starts (e.g. fail the second page). Default 0. */
  readonly skip?: number;
}

export interface InjectedFault {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterSeconds?: number;
}

/**
 * A listing page that is wrong without being an error: `empty-page` answers no items and a nextLink
 * to the real page (ARM does this); `drop-last-item` leaves out the page's last item; `broken-next-link`
 * adds a nextLink whose skip token ARM rejects (400), so the listing cannot be completed.
 */
export type PageFaultKind = 'empty-page' | 'drop-last-item' | 'broken-next-link';

type ArmRequest = { method: string; route: string | null; path: string };

/** Armed entries of one kind: the first one matching a request is used (after its `skip`) until its count runs out. */
class ArmedQueue<T> {
  private entries: Array<{ remaining: number; skipRemaining: number; readonly match: FaultMatch; readonly value: T }> = [];

  push(count: number, match: FaultMatch, value: T): void {
    if (!Number.isInteger(count) || count < 1) throw new TypeError(`fault count must be a positive integer, got ${count}`);
    const skip = match.skip ?? 0;
    if (!Number.isInteger(skip) || skip < 0) throw new TypeError(`fault skip must be a non-negative integer, got ${skip}`);
    this.entries.push({ remaining: count, skipRemaining: skip, match, value });
  }

  take(request: ArmRequest): T | undefined {
    const hit = this.entries.find((e) => e.remaining > 0 && faultMatches(e.match, request));
    if (!hit) return undefined;
    if (hit.skipRemaining > 0) {
      hit.skipRemaining -= 1;
      return undefined;
    }
    hit.remaining -= 1;
    this.entries = this.entries.filter((e) => e.remaining > 0);
    return hit.value;
  }

  clear(): void {
    this.entries = [];
  }

  get pending(): number {
    return this.entries.reduce((sum, e) => sum + e.remaining, 0);
  }
}

export class FaultInjector {
  private readonly faults = new ArmedQueue<InjectedFault>();
  private readonly delays = new ArmedQueue<number>();
  private readonly pageFaults = new ArmedQueue<PageFaultKind>();
  private readonly gatherings = new ArmedQueue<Gathering>();

  /** Holds the next `count` matching requests for `delayMs` before answering them normally (slow or hung ARM). */
  delay(count: number, options: { readonly delayMs: number } & FaultMatch): void {
    const { delayMs, ...match } = options;
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError(`delayMs must be a non-negative number, got ${delayMs}`);
    this.delays.push(count, match, delayMs);
  }

  /**
   * Holds the next `count` matching requests until `together` of them are held at once, each at most
   * `deadlineMs` (default 10 000); see `Gathering`, which is returned (its `timedOut` says how many
   * went on alone).
   */
  gather(count: number, options: { readonly together: number; readonly deadlineMs?: number } & FaultMatch): Gathering {
    const { together, deadlineMs, ...match } = options;
    const gathering = new Gathering(together, deadlineMs ?? 10_000);
    this.gatherings.push(count, match, gathering);
    return gathering;
  }

  /** Makes the next `count` matching list answers wrong pages (see `PageFaultKind`). */
  wrongPage(count: number, options: { readonly kind: PageFaultKind } & FaultMatch): void {
    const { kind, ...match } = options;
    this.pageFaults.push(count, match, kind);
  }

  /** Answers the next `count` matching requests with 429 and `Retry-After: retryAfterSeconds`. */
  throttle(count: number, options: { readonly retryAfterSeconds: number } & FaultMatch): void {
    const { retryAfterSeconds, ...match } = options;
    this.faults.push(count, match, {
      status: 429,
      code: 'TooManyRequests',
      message: 'The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00.',
      retryAfterSeconds,
    });
  }

  /** Answers the next `count` matching requests with an ARM error (default 500 InternalServerError). */
  fail(count: number, options: Partial<InjectedFault> & FaultMatch = {}): void {
    const { status, code, message, retryAfterSeconds, ...match } = options;
    this.faults.push(count, match, {
      status: status ?? 500,
      code: code ?? 'InternalServerError',
      message: message ?? 'Encountered internal server error. Diagnostic information: emulated failure.',
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }

  /** Drops every armed fault. */
  clear(): void {
    this.faults.clear();
    this.delays.clear();
    this.pageFaults.clear();
    this.gatherings.clear();
  }

  /** Faults still armed (sum of remaining counts, delays, wrong pages and gatherings included). */
  get pending(): number {
    return this.faults.pending + this.delays.pending + this.pageFaults.pending + this.gatherings.pending;
  }

  /** The fault for this request, if one is armed (and uses it up). */
  take(request: ArmRequest): InjectedFault | undefined {
    return this.faults.take(request);
  }

  /** The delay for this request, if one is armed (and uses it up). */
  takeDelay(request: ArmRequest): number | undefined {
    return this.delays.take(request);
  }

  /** The gathering this request joins, if one is armed (and uses up one of its requests). */
  takeGathering(request: ArmRequest): Gathering | undefined {
    return this.gatherings.take(request);
  }

  /** The page fault for this list answer, if one is armed (and uses it up). */
  takePageFault(request: ArmRequest): PageFaultKind | undefined {
    return this.pageFaults.take(request);
  }
}

function faultMatches(match: FaultMatch, request: ArmRequest): boolean {
  return (
    (match.method === undefined || match.method.toUpperCase() === request.method) &&
    (match.route === undefined || match.route === request.route) &&
    (match.pathIncludes === undefined || request.path.toLowerCase().includes(match.pathIncludes.toLowerCase()))
  );
}
