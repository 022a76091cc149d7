/**
 * ARM's two ways of saying "slow down": a token bucket per subscription and operation kind (reads,
 * writes, deletes) whose remainder every response reports in `x-ms-ratelimit-remaining-*`, and, for
 * tests, injected faults ("throttle the next N requests with Retry-After S", "fail the next N").
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

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: Readonly<Record<OperationKind, BucketSettings>>) {}

  /** Takes a token; answers what is left, or how long to wait when none is. */
  take(subscriptionId: string, kind: OperationKind, now = Date.now()): { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number } {
    const { capacity, refillPerSecond } = this.limits[kind];
    const id = `${subscriptionId.toLowerCase()}/${kind}`;
    const bucket = this.buckets.get(id) ?? { tokens: capacity, updatedAt: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * refillPerSecond);
    bucket.updatedAt = now;
    this.buckets.set(id, bucket);
    if (bucket.tokens < 1) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerSecond)) };
    }
    bucket.tokens -= 1;
    return { allowed: true, remaining: Math.floor(bucket.tokens) };
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

  /** Holds the next `count` matching requests for `delayMs` before answering them normally (slow or hung ARM). */
  delay(count: number, options: { readonly delayMs: number } & FaultMatch): void {
    const { delayMs, ...match } = options;
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError(`delayMs must be a non-negative number, got ${delayMs}`);
    this.delays.push(count, match, delayMs);
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
  }

  /** Faults still armed (sum of remaining counts, delays and wrong pages included). */
  get pending(): number {
    return this.faults.pending + this.delays.pending + this.pageFaults.pending;
  }

  /** The fault for this request, if one is armed (and uses it up). */
  take(request: ArmRequest): InjectedFault | undefined {
    return this.faults.take(request);
  }

  /** The delay for this request, if one is armed (and uses it up). */
  takeDelay(request: ArmRequest): number | undefined {
    return this.delays.take(request);
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
