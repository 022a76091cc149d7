/**
 * Names of the resources the relay emits and the extension types inside them, in one place: the
 * builders, the bootstrap command and the tests read them from here (each kind's message type and
 * rules are in `../xds/*-kind.ts`).
 *
 * Naming (both profiles use a service's own name for its cluster and ClusterLoadAssignment, and
 * `<service>@<scale set name>-<hash of its ID>` for a scale set's subset of a weighted service):
 * - Envoy gateway: listener `vmss-mesh-gateway-<port>`, route configuration `vmss-mesh-gateway`.
 * - Proxyless gRPC: listener `<service>` (what `xds:///<service>` asks for), route configuration
 *   `<service>` (RDS mode only).
 */
import { createHash } from 'node:crypto';
import { typeUrlOf } from '../xds/envoy-protos';

export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const UPSTREAM_HTTP_PROTOCOL_OPTIONS_TYPE = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Well-known extension names Envoy uses to find the filters and protocol options. */
export const HTTP_CONNECTION_MANAGER_FILTER = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER = 'envoy.filters.http.router';

export const GATEWAY_ROUTE_CONFIG_NAME = 'vmss-mesh-gateway';

export function gatewayListenerName(port: number): string {
  return `vmss-mesh-gateway-${port}`;
}

/** The listener a proxyless client dialing `xds:///<service>` subscribes to. */
export function proxylessListenerName(service: string): string {
  return service;
}

export function proxylessRouteConfigName(service: string): string {
  return service;
}

export function clusterName(service: string): string {
  return service;
}

/** The cluster (and assignment) name of one scale set's subset of a service. */
export function subsetClusterName(service: string, scaleSet: string): string {
  if (scaleSet === '') return `${service}@unknown-scale-set`;
  const last = scaleSet.split('/').filter(Boolean).pop() ?? '';
  const readable = last.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'scale-set';
  const hash = createHash('sha256').update(scaleSet.toLowerCase()).digest('hex').slice(0, 8);
  return `${service}@${readable}-${hash}`;
}

/**
 * A google.protobuf.Any in the form protobufjs's `fromObject` packs (`@type` plus the message's
 * own fields). Keeping nested messages as plain objects until the single encode step lets the
 * strict checker see every field, including those inside typed configs.
 */
export type AnySpec = { readonly '@type': string } & Readonly<Record<string, unknown>>;

export function anyOf(typeName: string, message: Readonly<Record<string, unknown>>): AnySpec {
  return { '@type': typeUrlOf(typeName), ...message };
}

/** google.protobuf.Duration from milliseconds. */
export function duration(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
