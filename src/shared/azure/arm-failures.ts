/**
 * Turns what the Azure SDK throws into our error classes, so adapters can decide retry / no-retry
 * without knowing the SDK: throttling and outages are TransientError('arm') (with Retry-After when
 * ARM gave one), a missing role assignment (403) is a ConfigError (kept until the operator fixes
 * it), a refused token (401) transient, any other 4xx but 404/408/409/429 (a request ARM calls
 * malformed or too large: 400, 413, 414, 431 …) an InvalidInputError, permanent for the event. 404s are not errors here: callers that expect
 * them check `isArmNotFound` first.
 */
import { ConfigError, InvalidInputError, TransientError, VmssMeshError, errorMessage, shortened } from '../errors';

/** The parts of the SDK's RestError we read (duck-typed: the class lives in a transitive package). */
interface RestErrorLike {
  readonly name: 'RestError';
  readonly message: string;
  readonly statusCode?: number;
  readonly code?: string;
  readonly response?: { readonly headers: { get(name: string): string | undefined } };
}

export function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

export function armStatus(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}

/** `404 ResourceGroupNotFound`, `503`, or the error's message when there was no response. */
export function armStatusText(error: unknown): string {
  if (!isRestError(error)) return errorMessage(error);
  if (error.statusCode === undefined) return error.code ?? error.message;
  return error.code ? `${error.statusCode} ${error.code}` : String(error.statusCode);
}

/** True for ARM's 404 (ResourceNotFound, NotFound, ResourceGroupNotFound, …). */
export function isArmNotFound(error: unknown): boolean {
  return armStatus(error) === 404;
}

/** Retry-After of a response, in ms (seconds, HTTP date, or the `retry-after-ms` variants ARM also sends). */
export function retryAfterMs(headers: { get(name: string): string | undefined } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = Number(headers.get(name));
    if (headers.get(name) !== undefined && Number.isFinite(value) && value >= 0) return value;
  }
  const raw = headers.get('retry-after');
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * ARM's own message when the SDK kept it; the SDK's paging helper replaces it with "Pagination
 * failed with unexpected statusCode N", which says nothing the status does not, so that becomes ''.
 */
function shortMessage(error: RestErrorLike): string {
  const text = error.message.trim();
  if (/^Pagination failed with unexpected statusCode \d+$/.test(text)) return '';
  return shortened(text);
}

/**
 * Maps an SDK failure of `what` (e.g. `listing VMs of scale set web`) to a VmssMeshError.
 * Our own errors (e.g. the retry budget's TransientError) pass through unchanged.
 */
export function toArmFailure(error: unknown, what: string): VmssMeshError {
  if (error instanceof VmssMeshError) return error;
  if (!isRestError(error)) {
    return new TransientError(`ARM ${what} failed: ${errorMessage(error)}`, 'arm', undefined, { cause: error });
  }
  const status = error.statusCode;
  const code = error.code ? ` ${error.code}` : '';
  const message = shortMessage(error);
  const detail = message === '' ? '' : `: ${message}`;
  switch (true) {
    case status === 429: {
      const wait = retryAfterMs(error.response?.headers);
      const after = wait === undefined ? '' : `; retry after ${Math.ceil(wait / 1000)} s`;
      return new TransientError(`ARM throttled ${what} (429${code})${after}`, 'arm', wait, { cause: error });
    }
    case status === 403:
      return new ConfigError(`ARM denied ${what} (403${code})${detail} — grant the app's identity Reader on the configured scope`);
    case status === undefined:
      return new TransientError(`ARM ${what} failed before a response (${error.code ?? 'network error'})${detail}`, 'arm', undefined, { cause: error });
    case isPermanent4xx(status):
      // 400, 405, 410, 413, 414, 422, 431 …: the same request gets the same answer; retrying the
      // event for a day would only repeat it (issue 9, D5).
      return new InvalidInputError(`ARM rejected ${what} (${status}${code})${detail}`, '', { cause: error });
    default:
      return new TransientError(`ARM ${what} failed (${status}${code})${detail}`, 'arm', retryAfterMs(error.response?.headers), { cause: error });
  }
}

/**
 * 4xx answers that may change if asked again: 404 (replication, a resource being created), 408
 * (timeout), 409 (a conflicting operation in progress), 429 (throttled), and 401: our token, not
 * the event (expired, or not yet valid): transient as before, so the event is kept and retried.
 */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([401, 404, 408, 409, 429]);

function isPermanent4xx(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && !RETRYABLE_4XX.has(status);
}
