/**
 * What clients asked the emulator, for tests that count calls ("listing 20 instances took 2 pages
 * of VMs and 2 pages of NICs, not 20 NIC GETs").
 */
export interface RequestRecord {
  readonly sequence: number;
  readonly method: string;
  /** Path as sent (casing preserved), without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Route name such as `vmssVm.list`, `nic.get`; `null` when no route matched. */
  readonly route: string | null;
  readonly status: number;
  /** Answered 429 (injected or by the rate limiter). */
  readonly throttled: boolean;
  /** `Date.now()` when the request arrived. */
  readonly at: number;
}

export interface RequestFilter {
  readonly method?: string;
  readonly route?: string;
  /** Case-insensitive substring of the path. */
  readonly pathIncludes?: string;
  readonly status?: number;
}

function matches(record: RequestRecord, filter: RequestFilter): boolean {
  return (
    (filter.method === undefined || record.method === filter.method.toUpperCase()) &&
    (filter.route === undefined || record.route === filter.route) &&
    (filter.pathIncludes === undefined || record.path.toLowerCase().includes(filter.pathIncludes.toLowerCase())) &&
    (filter.status === undefined || record.status === filter.status)
  );
}

export class RequestLog {
  private records: RequestRecord[] = [];
  private sequence = 0;

  /** Keeps the newest `limit` entries (a long-running sandbox must not grow without bound). */
  constructor(private readonly limit = 10_000) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`request log limit must be a positive integer, got ${limit}`);
  }

  /** Every request since start (or the last `clear()`, at most `limit`), oldest first. */
  get entries(): readonly RequestRecord[] {
    return this.records;
  }

  add(record: Omit<RequestRecord, 'sequence'>): RequestRecord {
    const full = Object.freeze({ ...record, sequence: (this.sequence += 1) });
    this.records.push(full);
    if (this.records.length > this.limit) this.records = this.records.slice(-this.limit);
    return full;
  }

  count(filter: RequestFilter = {}): number {
    return this.records.filter((r) => matches(r, filter)).length;
  }

  filter(filter: RequestFilter): RequestRecord[] {
    return this.records.filter((r) => matches(r, filter));
  }

  /** `{ 'vmssVm.list': 3, 'vmssNic.list': 2, … }` (unmatched requests under `(none)`). */
  countsByRoute(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.records) counts[r.route ?? '(none)'] = (counts[r.route ?? '(none)'] ?? 0) + 1;
    return counts;
  }

  /** `{ 'GET /subscriptions/…/virtualmachines': 2, … }`, paths lower-cased. */
  countsByPath(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.records) {
      const k = `${r.method} ${r.path.toLowerCase()}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return counts;
  }

  clear(): void {
    this.records = [];
  }
}
