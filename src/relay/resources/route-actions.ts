/**
 * A service's RouteAction for each profile: where calls go (its cluster, or its scale sets' subset
 * clusters by weight: traffic-split.ts) and its retry policy and timeout (`RoutePolicy`).
 *
 * - Envoy gateway: `retry_policy {retry_on, num_retries, per_try_timeout}` with every condition
 *   (gRPC status names and HTTP conditions alike are Envoy `retry_on` values) and `timeout` (the
 *   whole call, retries included). gRPC services without a timeout keep `timeout: 0` (disabled):
 *   Envoy's default of 15 s would cut long streams.
 * - Proxyless gRPC (what @grpc/grpc-js-xds reads, gRFC A44 and A31): `retry_policy {retry_on,
 *   num_retries}` with the gRPC conditions only (grpc-js ignores the others, and a policy without
 *   a gRPC condition altogether), and `max_stream_duration.max_stream_duration` for the timeout
 *   (gRPC ignores `route.timeout`). grpc-js has no per-try timeout, so none is sent.
 */
import { GRPC_RETRY_CONDITIONS, DEFAULT_RETRIES, type RoutePolicy } from '../../shared/traffic';
import { clusterName, duration } from './resource-names';
import type { RouteTarget, ServiceRouting } from './traffic-split';

const GRPC_CONDITIONS: ReadonlySet<string> = new Set(GRPC_RETRY_CONDITIONS);

function targetFields(target: RouteTarget): Record<string, unknown> {
  if ('cluster' in target) return { cluster: target.cluster };
  return { weighted_clusters: { clusters: target.weightedClusters.map((c) => ({ name: c.name, weight: { value: c.weight } })) } };
}

function retryPolicy(conditions: readonly string[], policy: RoutePolicy, perTry: boolean): Record<string, unknown> {
  if (conditions.length === 0) return {};
  return {
    retry_policy: {
      retry_on: conditions.join(','),
      num_retries: { value: policy.numRetries ?? DEFAULT_RETRIES },
      ...(perTry && policy.perTryTimeoutMs !== undefined ? { per_try_timeout: duration(policy.perTryTimeoutMs) } : {}),
    },
  };
}

/** The gateway's action for a route to `service` (`routing` absent: a service the mesh does not have yet). */
export function gatewayRouteAction(service: string, protocol: string | undefined, routing: ServiceRouting | undefined): Record<string, unknown> {
  const policy = routing?.policy;
  const timeoutMs = policy?.timeoutMs;
  return {
    ...targetFields(routing?.target ?? { cluster: clusterName(service) }),
    ...(timeoutMs !== undefined ? { timeout: duration(timeoutMs) } : protocol === 'grpc' ? { timeout: { seconds: 0, nanos: 0 } } : {}),
    ...(policy ? retryPolicy(policy.retryOn, policy, true) : {}),
  };
}

/** The proxyless route's action for `service`. */
export function proxylessRouteAction(service: string, routing: ServiceRouting | undefined): Record<string, unknown> {
  const policy = routing?.policy;
  return {
    ...targetFields(routing?.target ?? { cluster: clusterName(service) }),
    ...(policy?.timeoutMs !== undefined ? { max_stream_duration: { max_stream_duration: duration(policy.timeoutMs) } } : {}),
    ...(policy ? retryPolicy(policy.retryOn.filter((c) => GRPC_CONDITIONS.has(c)), policy, false) : {}),
  };
}
