/**
 * Which resources make up each client profile, built from MeshState.
 *
 * - `envoy-gateway`: the HTTP listener, the `vmss-mesh-gateway` route configuration, and per
 *   service an EDS cluster and its ClusterLoadAssignment (plus, for a service weighted between its
 *   scale sets, one subset cluster and assignment per scale set: traffic-split.ts); services named by a routing rule but
 *   absent from the mesh get a cluster with an empty assignment (see gateway-routes.ts).
 * - `proxyless-grpc`: per service an API listener `<service>`, a route configuration `<service>`
 *   (RDS mode; inline mode puts it inside the listener), an EDS cluster and its assignment (and the
 *   subset clusters and assignments of a weighted service). Every
 *   service is served, whatever its protocol: a proxyless client only subscribes to the listeners
 *   it dials, so serving more costs nothing, and the protocol tag is a hint for gateways.
 *
 * The per-service and gateway-wide parts are separate so the snapshot store can rebuild only what
 * changed; `assembleProfiles` is the one place that decides which part goes to which profile.
 */
import type { ServiceEndpointSet } from '../../shared/endpoints';
import type { MeshState } from '../mesh-state';
import type { ClientProfile } from '../xds/client-profile';
import type { ResourceKind, ResourceSpec } from '../xds/resource-kind';
import type { BuildOptions } from './build-options';
import { buildGatewayCluster, buildProxylessCluster } from './clusters';
import { buildGatewayRouteConfig, type RoutedService, servicesNamedByRoutes } from './gateway-routes';
import { buildGatewayListener, buildProxylessListener, buildProxylessRouteConfig } from './listeners';
import { buildLoadAssignment } from './load-assignment';
import { serviceRouting, type ServiceRouting } from './traffic-split';

/** One scale set's subset of a weighted service, in both profiles (the assignment is shared). */
export interface SubsetParts<T> {
  readonly loadAssignment: T;
  readonly gatewayCluster: T;
  readonly proxylessCluster: T;
}

/** A mesh service's resources in both profiles. The assignment is shared: both profiles get the same bytes. */
export interface ServiceParts<T> {
  readonly loadAssignment: T;
  readonly gatewayCluster: T;
  readonly proxylessListener: T;
  /** Absent in inline route mode. */
  readonly proxylessRoute?: T;
  readonly proxylessCluster: T;
  /** Keyed by subset cluster name; empty unless the service is weighted between scale sets. */
  readonly subsets: ReadonlyMap<string, SubsetParts<T>>;
}

/** A service the gateway's rules route to that the mesh does not have (yet). */
export interface PlaceholderParts<T> {
  readonly loadAssignment: T;
  readonly gatewayCluster: T;
}

export interface GatewayParts<T> {
  readonly listener: T;
  readonly routeConfig: T;
}

export type ProfileResources<T> = Readonly<Record<ClientProfile, Readonly<Record<ResourceKind, readonly T[]>>>>;

export interface ServiceSpecs extends ServiceParts<ResourceSpec> {
  /** Endpoints left out of the assignment, and why. */
  readonly notes: readonly string[];
  /** Where the routes send the service's calls, and its policy (the gateway's routes need it too). */
  readonly routing: ServiceRouting;
}

/** Service names that become listener names, Host domains and stat prefixes: DNS-like, 1–253 characters. */
const SERVABLE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

export function isServableName(service: string): boolean {
  return SERVABLE_NAME.test(service);
}

/** An absolute path of visible ASCII: what Envoy can put on a health-check request line. */
const HEALTH_PATH = /^\/[\x21-\x7e]*$/;

export function buildServiceSpecs(set: ServiceEndpointSet, options: BuildOptions): ServiceSpecs {
  const cla = buildLoadAssignment(set, options);
  const routing = serviceRouting(set, options);
  const notes = [...cla.notes, ...routing.notes];
  let healthPath = set.healthPath;
  if (healthPath !== undefined && !HEALTH_PATH.test(healthPath)) {
    notes.push(`service ${set.service}: health path ${JSON.stringify(healthPath)} is not an absolute URL path; the gateway does not health-check it`);
    healthPath = undefined;
  }
  const subject = { service: set.service, protocol: set.protocol, ...(healthPath ? { healthPath } : {}) };
  const subsets = new Map<string, SubsetParts<ResourceSpec>>();
  for (const subset of routing.subsets) {
    subsets.set(subset.cluster, {
      // The service's own assignment already noted any endpoint left out.
      loadAssignment: buildLoadAssignment({ ...set, endpoints: subset.endpoints }, options, subset.cluster).spec,
      gatewayCluster: buildGatewayCluster({ ...subject, cluster: subset.cluster }, options),
      proxylessCluster: buildProxylessCluster(set.service, options, subset.cluster),
    });
  }
  return {
    loadAssignment: cla.spec,
    gatewayCluster: buildGatewayCluster(subject, options),
    proxylessListener: buildProxylessListener(set.service, options.routeConfigMode, routing),
    ...(options.routeConfigMode === 'rds' ? { proxylessRoute: buildProxylessRouteConfig(set.service, routing) } : {}),
    proxylessCluster: buildProxylessCluster(set.service, options),
    subsets,
    notes,
    routing,
  };
}

/** Placeholder clusters speak HTTP/1 with no health check until the service shows up with its own settings. */
export function buildPlaceholderSpecs(service: string, options: BuildOptions): PlaceholderParts<ResourceSpec> {
  return {
    loadAssignment: buildLoadAssignment({ service, consulIndex: 0, protocol: 'http', endpoints: [] }, options).spec,
    gatewayCluster: buildGatewayCluster({ service, protocol: 'http' }, options),
  };
}

export function buildGatewaySpecs(routed: ReadonlyMap<string, RoutedService>, state: MeshState, options: BuildOptions): GatewayParts<ResourceSpec> {
  return { listener: buildGatewayListener(options), routeConfig: buildGatewayRouteConfig(routed, state.gatewayRoutes) };
}

/** Services the gateway routes to that the mesh does not have. */
export function placeholderServices(state: MeshState, servable: ReadonlySet<string>): string[] {
  return servicesNamedByRoutes(state.gatewayRoutes).filter((s) => !servable.has(s));
}

/** Both profiles' resources, by kind, from the parts. Order inside a kind is the callers' (the store sorts by name). */
export function assembleProfiles<T>(services: Iterable<ServiceParts<T>>, placeholders: Iterable<PlaceholderParts<T>>, gateway: GatewayParts<T>): ProfileResources<T> {
  const gw: Record<ResourceKind, T[]> = { cluster: [], endpoint: [], listener: [gateway.listener], route: [gateway.routeConfig] };
  const px: Record<ResourceKind, T[]> = { cluster: [], endpoint: [], listener: [], route: [] };
  for (const s of services) {
    gw.cluster.push(s.gatewayCluster);
    gw.endpoint.push(s.loadAssignment);
    px.listener.push(s.proxylessListener);
    if (s.proxylessRoute !== undefined) px.route.push(s.proxylessRoute);
    px.cluster.push(s.proxylessCluster);
    px.endpoint.push(s.loadAssignment);
    for (const subset of s.subsets.values()) {
      gw.cluster.push(subset.gatewayCluster);
      gw.endpoint.push(subset.loadAssignment);
      px.cluster.push(subset.proxylessCluster);
      px.endpoint.push(subset.loadAssignment);
    }
  }
  for (const p of placeholders) {
    gw.cluster.push(p.gatewayCluster);
    gw.endpoint.push(p.loadAssignment);
  }
  return { 'envoy-gateway': gw, 'proxyless-grpc': px };
}

/**
 * Every spec of both profiles, uncached (tests, tools). Services whose names cannot be served are
 * left out, as the snapshot store does.
 */
export function buildProfileSpecs(state: MeshState, options: BuildOptions): ProfileResources<ResourceSpec> {
  const sets = [...state.services.values()].filter((s) => isServableName(s.service));
  const specs = sets.map((s) => buildServiceSpecs(s, options));
  const routed = new Map<string, RoutedService>(sets.map((s, i) => [s.service, { protocol: s.protocol, routing: (specs[i] as ServiceSpecs).routing }]));
  const placeholders = placeholderServices(state, new Set(routed.keys()));
  return assembleProfiles(
    specs,
    placeholders.map((p) => buildPlaceholderSpecs(p, options)),
    buildGatewaySpecs(routed, state, options),
  );
}
