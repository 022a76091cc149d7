/**
 * How a service's traffic is shared between its scale sets and retried: the domain's side of the
 * `vmss-mesh-weight` / `-retry-on` / `-retries` / `-per-try-timeout` / `-timeout` tags
 * (docs/mesh-tags.md). The tags are parsed in azure/mesh-tags.ts; the values travel to the relay
 * as service meta of every registration of the scale set (the keys and their encoding are here,
 * in one place), and the relay turns them into weighted routes and route retry policies.
 *
 * Meta written by an older version has none of these keys: such a registration has no weight
 * (share by healthy instances) and no route policy, as before.
 */

/** Retry conditions both Envoy and gRPC name the same way (gRPC status names). Proxyless gRPC honours only these. */
export const GRPC_RETRY_CONDITIONS = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'] as const;
/** Envoy's HTTP retry conditions (x-envoy-retry-on); proxyless gRPC clients ignore them. */
export const HTTP_RETRY_CONDITIONS = ['5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream'] as const;

export type RetryCondition = (typeof GRPC_RETRY_CONDITIONS)[number] | (typeof HTTP_RETRY_CONDITIONS)[number];

const RETRY_CONDITIONS: ReadonlySet<string> = new Set<string>([...GRPC_RETRY_CONDITIONS, ...HTTP_RETRY_CONDITIONS]);

export function isRetryCondition(value: string): value is RetryCondition {
  return RETRY_CONDITIONS.has(value);
}

/** Weights a scale set may carry for a service (`vmss-mesh-weight`). */
export const MIN_WEIGHT = 0;
export const MAX_WEIGHT = 1000;
/**
 * The weight of a scale set without a weight tag in a service where another scale set has one:
 * as if it were tagged `vmss-mesh-weight=100`.
 */
export const DEFAULT_WEIGHT = 100;
/** Retries after the first attempt: gRPC clients make at most 5 attempts (grpc-js caps maxAttempts at 5). */
export const MAX_RETRIES = 4;
/** Retries when retry conditions are set but no count: Envoy's and gRPC's default. */
export const DEFAULT_RETRIES = 1;
/** Longest per-try or overall timeout a tag may set. */
export const MAX_TIMEOUT_MS = 3_600_000;

/** A service's retry policy and timeouts, as its scale set's tags declare them. */
export interface RoutePolicy {
  /** Conditions that make a call be tried again; empty = no retries. */
  readonly retryOn: readonly RetryCondition[];
  /** Retries after the first attempt (1–4); set only with `retryOn`. */
  readonly numRetries?: number;
  /** Deadline of each attempt (Envoy only; gRPC clients have no per-try timeout). Set only with `retryOn`. */
  readonly perTryTimeoutMs?: number;
  /** Overall deadline of a call, retries included. */
  readonly timeoutMs?: number;
}

/** True when the policy says nothing (no retries, no timeouts). */
export function isEmptyPolicy(policy: RoutePolicy | undefined): boolean {
  return policy === undefined || (policy.retryOn.length === 0 && policy.timeoutMs === undefined);
}

export function samePolicy(a: RoutePolicy | undefined, b: RoutePolicy | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return isEmptyPolicy(a) && isEmptyPolicy(b);
  return (
    a.retryOn.length === b.retryOn.length &&
    a.retryOn.every((c, i) => c === b.retryOn[i]) &&
    a.numRetries === b.numRetries &&
    a.perTryTimeoutMs === b.perTryTimeoutMs &&
    a.timeoutMs === b.timeoutMs
  );
}

const DURATION = /^([0-9]{1,7})(ms|s|m)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/** `250ms`, `2s`, `1m` → milliseconds; undefined when the text is not such a duration. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim().toLowerCase());
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** Milliseconds → the shortest exact tag spelling (`1500` → `1500ms`, `2000` → `2s`). */
export function formatDurationMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Service meta keys of a registration (next to ownership.ts's SERVICE_META, whose keys the
 * registrations carry too). Absent keys mean "not set".
 */
export const TRAFFIC_META = {
  weight: 'vmss-mesh-weight',
  retryOn: 'vmss-mesh-retry-on',
  retries: 'vmss-mesh-retries',
  perTryTimeoutMs: 'vmss-mesh-per-try-timeout-ms',
  timeoutMs: 'vmss-mesh-timeout-ms',
} as const;

/** What a scale set's tags say about one of its services' traffic. */
export interface ServiceTraffic {
  readonly weight?: number;
  readonly policy?: RoutePolicy;
}

/** The meta entries for `traffic` (none for what is not set). */
export function trafficMeta(traffic: ServiceTraffic): Record<string, string> {
  const meta: Record<string, string> = {};
  if (traffic.weight !== undefined) meta[TRAFFIC_META.weight] = String(traffic.weight);
  const policy = traffic.policy;
  if (policy && policy.retryOn.length > 0) {
    meta[TRAFFIC_META.retryOn] = policy.retryOn.join(',');
    if (policy.numRetries !== undefined) meta[TRAFFIC_META.retries] = String(policy.numRetries);
    if (policy.perTryTimeoutMs !== undefined) meta[TRAFFIC_META.perTryTimeoutMs] = String(policy.perTryTimeoutMs);
  }
  if (policy?.timeoutMs !== undefined) meta[TRAFFIC_META.timeoutMs] = String(policy.timeoutMs);
  return meta;
}

function wholeNumber(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/**
 * Reads what `trafficMeta` wrote. Meta is our own data, but Consul can be edited by hand: a value
 * that is not what we write is ignored (the registration then counts as not setting it), never
 * thrown, so one bad entry cannot stop a relay from serving the service.
 */
export function trafficFromMeta(meta: Readonly<Record<string, string>>): ServiceTraffic {
  const weight = wholeNumber(meta[TRAFFIC_META.weight], MIN_WEIGHT, MAX_WEIGHT);
  const retryOn = (meta[TRAFFIC_META.retryOn] ?? '').split(',').filter(isRetryCondition);
  const numRetries = retryOn.length > 0 ? wholeNumber(meta[TRAFFIC_META.retries], 1, MAX_RETRIES) : undefined;
  const perTryTimeoutMs = retryOn.length > 0 ? wholeNumber(meta[TRAFFIC_META.perTryTimeoutMs], 1, MAX_TIMEOUT_MS) : undefined;
  const timeoutMs = wholeNumber(meta[TRAFFIC_META.timeoutMs], 1, MAX_TIMEOUT_MS);
  const policy: RoutePolicy = {
    retryOn: [...new Set(retryOn)],
    ...(numRetries !== undefined ? { numRetries } : {}),
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
  return { ...(weight !== undefined ? { weight } : {}), ...(isEmptyPolicy(policy) ? {} : { policy }) };
}

/**
 * The one policy of a service whose scale sets may declare different ones: that of the scale set
 * with the greatest weight (a scale set without a weight counts as DEFAULT_WEIGHT), ties going to
 * the first scale set ID in sort order. So during a rollout the policy follows the traffic. A
 * scale set without a policy takes part like any other (its "no policy" can win).
 */
export function servicePolicy(byScaleSet: ReadonlyMap<string, ServiceTraffic>): RoutePolicy | undefined {
  let best: { id: string; weight: number; policy: RoutePolicy | undefined } | undefined;
  for (const [id, traffic] of byScaleSet) {
    const weight = traffic.weight ?? DEFAULT_WEIGHT;
    if (!best || weight > best.weight || (weight === best.weight && id < best.id)) best = { id, weight, policy: traffic.policy };
  }
  return isEmptyPolicy(best?.policy) ? undefined : best?.policy;
}
