/**
 * ARM-style paging: `{ value: [...], nextLink }` where nextLink repeats the request with an opaque
 * `$skiptoken`. The token holds the sort key of the last item served, not an offset, so items that
 * appear or disappear between pages shift nothing (ARM, too, gives no snapshot across pages).
 */
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

/** Returns one page of `items` (sorted by `keyOf`) and the nextLink to the rest, if any. */
export function page<T>(items: readonly T[], keyOf: (item: T) => string, request: PageRequest): { value: T[]; nextLink?: string } | { invalidToken: string } {
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const token = request.query.get('$skiptoken');
  let rest = sorted;
  if (token !== null) {
    const after = decodeToken(token);
    if (after === undefined) return { invalidToken: token };
    rest = sorted.filter((item) => keyOf(item) > after);
  }
  const value = rest.slice(0, request.pageSize);
  const last = value[value.length - 1];
  if (rest.length <= request.pageSize || last === undefined) return { value };
  const query = new URLSearchParams(request.query);
  query.set('$skiptoken', encodeToken(keyOf(last)));
  return { value, nextLink: `${request.baseUrl}${request.path}?${query.toString()}` };
}

/** Sort key for numeric instance ids so that 10 comes after 9. */
export function numericKey(value: string): string {
  return /^\d+$/.test(value) ? value.padStart(12, '0') : value.toLowerCase();
}
