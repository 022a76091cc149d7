/**
 * ARM-style paging: `{ value: [...], nextLink }` where nextLink repeats the request with an opaque
 * `$skiptoken`. The token holds the sort key of the last item served, not an offset, so items that
 * appear or disappear between pages shift nothing (ARM, too, gives no snapshot across pages).
 */
import { compareStrings } from '../../shared/compare-strings';
export interface PageRequest {
  /** `https://127.0.0.1:port` */
  readonly baseUrl: string;
  /** Request path as sent. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly pageSize: number;
}

function encodeToken(lastKey: string): string {
  return Buffer.from(JSON.stringify({ after: lastKey }), 'utf8').toString('base64url');
}

function decodeToken(token: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && 'after' in parsed && typeof parsed.after === 'string' ? parsed.after : undefined;
  } catch {
    return undefined;
  }
}

export interface Keyed<T> {
  readonly key: string;
  readonly item: T;
}

const byKey = <T>(a: Keyed<T>, b: Keyed<T>): number => compareStrings(a.key, b.key);

/** Index of the first entry whose key is above `after` (entries sorted by key). */
function firstAfter<T>(sorted: readonly Keyed<T>[], after: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.key > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Whether the entries are already in key order (the world's reads mostly are: then no sort). */
function inOrder<T>(entries: readonly Keyed<T>[]): boolean {
  for (let i = 1; i < entries.length; i += 1) if (entries[i - 1]!.key > entries[i]!.key) return false;
  return true;
}

/** The items with their keys, in key order (stable): each key computed once, sorted only when needed. */
export function sortByKey<T>(items: readonly T[], keyOf: (item: T) => string): Keyed<T>[] {
  const sorted = items.map((item) => ({ key: keyOf(item), item }));
  if (!inOrder(sorted)) sorted.sort(byKey);
  return sorted;
}

/** Returns one page of `items` (sorted by `keyOf`) and the nextLink to the rest, if any. */
export function page<T>(items: readonly T[], keyOf: (item: T) => string, request: PageRequest): { value: T[]; nextLink?: string } | { invalidToken: string } {
  return pageOfSorted(sortByKey(items, keyOf), request);
}

/** One page of entries already in key order (see `sortByKey`). */
export function pageOfSorted<T>(sorted: readonly Keyed<T>[], request: PageRequest): { value: T[]; nextLink?: string } | { invalidToken: string } {
  const token = request.query.get('$skiptoken');
  let start = 0;
  if (token !== null) {
    const after = decodeToken(token);
    if (after === undefined) return { invalidToken: token };
    start = firstAfter(sorted, after);
  }
  const entries = sorted.slice(start, start + request.pageSize);
  const value = entries.map((e) => e.item);
  const last = entries[entries.length - 1];
  if (sorted.length - start <= request.pageSize || last === undefined) return { value };
  const query = new URLSearchParams(request.query);
  query.set('$skiptoken', encodeToken(last.key));
  return { value, nextLink: `${request.baseUrl}${request.path}?${query.toString()}` };
}

/** Sort key for numeric instance ids so that 10 comes after 9. */
export function numericKey(value: string): string {
  return /^\d+$/.test(value) ? value.padStart(12, '0') : value.toLowerCase();
}
