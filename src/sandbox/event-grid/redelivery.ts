/**
 * Event Grid's redelivery of a failed delivery, as its docs describe it ("Event Grid message
 * delivery and retry"): a delivery is accepted when the endpoint answers 200–204 within 30 s;
 * a webhook answering 400, 401, 403 or 413 is not retried (the events are dead-lettered or
 * dropped); any other answer, or none within the timeout, is retried with the same events (same
 * ids) on the schedule 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h,
 * up to 30 attempts (the subscription's default maximum) or the events' time to live (24 h).
 * The sandbox compresses the schedule (`scale`), so a delivery the Functions app failed is caught
 * up within seconds instead of waiting for the timer's sweep.
 */
import type { Delivery } from './deliveries';
import { eventGridRequest, postWebhook, type WebhookResponse } from './webhook';

/** Event Grid's delays before each retry, in ms; after the last one it keeps the last delay (every 12 h). */
export const EVENT_GRID_RETRY_DELAYS_MS: readonly number[] = [10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000];
/** Webhook answers Event Grid does not retry. */
export const NON_RETRYABLE_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 413]);

export interface RedeliveryPolicy {
  /** Factor on Event Grid's delays (1 = Azure's; the sandbox's default 0.05 makes 0.5 s, 1.5 s, 3 s, 15 s, …). */
  readonly scale: number;
  /** Attempts in all, the first delivery included (Event Grid: 1–30, default 30). */
  readonly maxAttempts: number;
  /** How long an attempt may take before it counts as failed (Event Grid: 30 s). */
  readonly timeoutMs: number;
}

export const AZURE_REDELIVERY: RedeliveryPolicy = { scale: 1, maxAttempts: 30, timeoutMs: 30_000 };
/** The sandbox's: Azure's schedule and limits at 1/20 of the time. */
export const SANDBOX_REDELIVERY: RedeliveryPolicy = { scale: 0.05, maxAttempts: 30, timeoutMs: 30_000 };

export function checkPolicy(policy: RedeliveryPolicy): void {
  if (!(policy.scale > 0 && policy.scale <= 1)) throw new TypeError(`redelivery scale must be in (0, 1], got ${policy.scale}`);
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1 || policy.maxAttempts > 30) throw new TypeError(`redelivery maxAttempts must be an integer from 1 to 30, got ${policy.maxAttempts}`);
  if (!(policy.timeoutMs > 0)) throw new TypeError(`redelivery timeoutMs must be positive, got ${policy.timeoutMs}`);
}

export const isAccepted = (status: number): boolean => status >= 200 && status <= 204;

/** The wait before retry `retry` (1 = the first retry). */
export function retryDelayMs(retry: number, policy: Pick<RedeliveryPolicy, 'scale'>): number {
  const delays = EVENT_GRID_RETRY_DELAYS_MS;
  return Math.round(delays[Math.min(retry, delays.length) - 1]! * policy.scale);
}

/** What became of a delivery: accepted, given up (not retryable, or out of attempts), or cancelled (the sandbox closed). */
export type RedeliveryOutcome =
  | { readonly result: 'accepted'; readonly attempts: number; readonly status: number }
  | { readonly result: 'not-retryable'; readonly attempts: number; readonly status: number }
  | { readonly result: 'attempts-exhausted'; readonly attempts: number; readonly last: string }
  | { readonly result: 'cancelled'; readonly attempts: number; readonly last: string };

/** One attempt: its answer, or why it has none (timeout, connection refused, …). */
export type AttemptResult = { readonly status: number } | { readonly error: string };

export interface RedeliverOptions {
  readonly policy: RedeliveryPolicy;
  /** Aborting stops the retries (an attempt in flight is aborted too). */
  readonly signal?: AbortSignal;
  /** Called after the first attempt's answer and after each retry's (attempt from 1). */
  readonly onAttempt?: (attempt: number, result: AttemptResult) => void;
  /** Called once the first attempt is answered (before any retry), for callers that keep the first attempts in order. */
  readonly onFirstAttempt?: (result: AttemptResult) => void;
}

const describe = (r: AttemptResult) => ('status' in r ? `HTTP ${r.status}` : r.error);

function wait(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Posts one attempt of `delivery` (its `aeg-delivery-count` = `deliveryCount`), bounded by the policy's timeout. */
export async function attemptDelivery(baseUrl: string, delivery: Delivery, deliveryCount: number, timeoutMs: number, signal?: AbortSignal): Promise<AttemptResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const response: WebhookResponse = await postWebhook(baseUrl, eventGridRequest(delivery, { deliveryCount }), both);
    return { status: response.status };
  } catch (error) {
    if (timeout.aborted) return { error: `no answer within ${timeoutMs} ms` };
    return { error: error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error) };
  }
}

/**
 * Delivers `delivery` to the Functions host at `baseUrl` until it is accepted, as Event Grid
 * does: the same events again after each failed attempt, `aeg-delivery-count` counting up.
 */
export async function deliverUntilAccepted(baseUrl: string, delivery: Delivery, options: RedeliverOptions): Promise<RedeliveryOutcome> {
  const { policy, signal } = options;
  checkPolicy(policy);
  for (let attempt = 0; ; attempt += 1) {
    if (attempt > 0 && !(await wait(retryDelayMs(attempt, policy), signal))) return { result: 'cancelled', attempts: attempt, last: 'cancelled before the retry' };
    const result = await attemptDelivery(baseUrl, delivery, attempt, policy.timeoutMs, signal);
    if (attempt === 0) options.onFirstAttempt?.(result);
    options.onAttempt?.(attempt, result);
    if ('status' in result && isAccepted(result.status)) return { result: 'accepted', attempts: attempt + 1, status: result.status };
    if ('status' in result && NON_RETRYABLE_STATUSES.has(result.status)) return { result: 'not-retryable', attempts: attempt + 1, status: result.status };
    if (signal?.aborted) return { result: 'cancelled', attempts: attempt + 1, last: describe(result) };
    if (attempt + 1 >= policy.maxAttempts) return { result: 'attempts-exhausted', attempts: attempt + 1, last: describe(result) };
  }
}

export { describe as describeAttempt };
