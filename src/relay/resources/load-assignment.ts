/**
 * A service's endpoint set → its ClusterLoadAssignment, following the rules grpc-js's xDS client
 * enforces (it NACKs the whole assignment otherwise) and Envoy's validation:
 * - addresses are IP literals with a port 1–65535; anything else is left out (with a note);
 * - an address:port appears once per assignment (grpc-js rejects duplicates): the healthiest entry
 *   wins, then the smaller instance name;
 * - one locality per Azure zone (`Locality{region: <localityRegion option>, zone: <zone>}`,
 *   `sub_zone` unset; regional instances have zone ''), all at priority 0, so priorities are
 *   trivially contiguous;
 * - every locality carries `load_balancing_weight` = the sum of its usable (HEALTHY) endpoints'
 *   weights, at least 1 (gRPC drops localities without a weight; Envoy requires ≥ 1), so traffic
 *   spreads by endpoint weight across zones;
 * - every endpoint carries `load_balancing_weight` = MeshEndpoint.weight rounded into 1–65 535.
 * Health: passing → HEALTHY, warning → HEALTHY (UNHEALTHY with onlyPassing), critical → UNHEALTHY,
 * draining → DRAINING. Unusable endpoints stay in the assignment so Envoy and the admin API see
 * them; grpc-js only uses HEALTHY/UNKNOWN ones and Envoy sends no new requests to the others.
 * Output is sorted (zones, then address, then port) so the same set always encodes to the same bytes.
 */
import { isIP } from 'node:net';
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../../shared/endpoints';
import type { BuildOptions } from './build-options';
import { clusterName } from './resource-names';
import type { ResourceSpec } from '../xds/resource-kind';
import { compareStrings } from '../../shared/compare-strings';

export type EnvoyHealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

export const MAX_ENDPOINT_WEIGHT = 65_535;
const UINT32_MAX = 0xffff_ffff;

export function envoyHealthStatus(health: EndpointHealth, onlyPassing: boolean): EnvoyHealthStatus {
  switch (health) {
    case 'passing':
      return 'HEALTHY';
    case 'warning':
      return onlyPassing ? 'UNHEALTHY' : 'HEALTHY';
    case 'draining':
      return 'DRAINING';
    case 'critical':
      return 'UNHEALTHY';
  }
}

export function endpointWeight(weight: number): number {
  if (!Number.isFinite(weight)) return 1;
  return Math.min(MAX_ENDPOINT_WEIGHT, Math.max(1, Math.round(weight)));
}

const HEALTH_RANK: Readonly<Record<EndpointHealth, number>> = { passing: 0, warning: 1, draining: 2, critical: 3 };

export interface LoadAssignmentBuild {
  readonly spec: ResourceSpec;
  /** Endpoints left out, and why (for logs; the rest of the set is still served). */
  readonly notes: readonly string[];
}

/** The endpoints an assignment lists: IP literal with a port 1–65535, one per address:port (healthiest wins). */
function usableEndpoints(set: ServiceEndpointSet, notes: string[]): MeshEndpoint[] {
  const valid = set.endpoints.filter((e) => {
    if (isIP(e.address) === 0) {
      notes.push(`service ${set.service}: endpoint ${e.instanceName} left out: address ${JSON.stringify(e.address)} is not an IP literal`);
      return false;
    }
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65_535) {
      notes.push(`service ${set.service}: endpoint ${e.instanceName} left out: port ${e.port} is not 1–65535`);
      return false;
    }
    return true;
  });
  // Healthiest first, so the duplicate that survives is the one able to take traffic.
  valid.sort((a, b) => HEALTH_RANK[a.health] - HEALTH_RANK[b.health] || compareStrings(a.instanceName, b.instanceName));
  const seen = new Map<string, MeshEndpoint>();
  for (const e of valid) {
    const key = `${e.address}|${e.port}`;
    const kept = seen.get(key);
    if (kept) {
      notes.push(`service ${set.service}: endpoint ${e.instanceName} left out: ${e.address}:${e.port} is already served by ${kept.instanceName}`);
    } else {
      seen.set(key, e);
    }
  }
  return [...seen.values()];
}

/**
 * Whether the set's assignment would hold a HEALTHY endpoint: the same rule `buildLoadAssignment`
 * applies, so a scale set whose only healthy endpoints are left out (bad address or port) gets no
 * route weight (traffic-split.ts) instead of a share of calls to an empty cluster.
 */
export function hasHealthyEndpoint(set: ServiceEndpointSet, onlyPassing: boolean): boolean {
  return usableEndpoints(set, []).some((e) => envoyHealthStatus(e.health, onlyPassing) === 'HEALTHY');
}

/** `cluster`: the assignment's name when it is not the service's own (a scale set's subset). */
export function buildLoadAssignment(set: ServiceEndpointSet, options: Pick<BuildOptions, 'onlyPassing' | 'localityRegion'>, cluster = clusterName(set.service)): LoadAssignmentBuild {
  const notes: string[] = [];
  const byZone = new Map<string, MeshEndpoint[]>();
  for (const e of usableEndpoints(set, notes)) {
    const list = byZone.get(e.zone);
    if (list) list.push(e);
    else byZone.set(e.zone, [e]);
  }
  const zones = [...byZone.keys()].sort(compareStrings);
  const maxLocalityWeight = Math.floor(UINT32_MAX / Math.max(1, zones.length));
  const endpoints = zones.map((zone) => {
    const members = (byZone.get(zone) ?? []).sort((a, b) => compareStrings(a.address, b.address) || a.port - b.port);
    let usableWeight = 0;
    const lbEndpoints = members.map((e) => {
      const status = envoyHealthStatus(e.health, options.onlyPassing);
      const weight = endpointWeight(e.weight);
      if (status === 'HEALTHY') usableWeight += weight;
      return {
        endpoint: {
          address: { socket_address: { protocol: 'TCP', address: e.address, port_value: e.port } },
          hostname: e.instanceName,
        },
        health_status: status,
        load_balancing_weight: { value: weight },
      };
    });
    return {
      // Empty strings are left out so a regional instance's locality encodes like Envoy's default one.
      locality: { ...(options.localityRegion ? { region: options.localityRegion } : {}), ...(zone ? { zone } : {}) },
      lb_endpoints: lbEndpoints,
      load_balancing_weight: { value: Math.min(maxLocalityWeight, Math.max(1, usableWeight)) },
      priority: 0,
    };
  });
  return { spec: { cluster_name: cluster, endpoints }, notes };
}
