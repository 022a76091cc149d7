/**
 * How a service's calls are shared between its scale sets (`vmss-mesh-weight`, docs/mesh-tags.md).
 *
 * Without any weight on any endpoint, routes send the service's calls to its one cluster, whose
 * assignment spreads them over the healthy instances (as before weights existed).
 *
 * When any endpoint carries its scale set's weight, every scale set of the service gets a subset
 * cluster of its own (`<service>@<scale set>-<hash>`, with its own ClusterLoadAssignment) and the
 * routes use `weighted_clusters` over them, so each scale set's share follows its weight whatever
 * its instance count. The service's own cluster stays (gateway rules and the fallback below use it).
 * - A scale set without a weight tag counts as DEFAULT_WEIGHT (100).
 * - A scale set whose registrations disagree on the weight (an update half applied) counts with
 *   the value most of them hold (ties: the smaller).
 * - A scale set with no usable endpoint (HEALTHY, and kept in its assignment: IP address, valid
 *   port) gets route weight 0 whatever its tag: a new scale set tagged before its instances are up
 *   takes no calls that could only fail.
 * - Scale sets are told apart by their lower-cased ID (ARM IDs are case-insensitive).
 * - Weight 0 drains: the subset stays in the route (clients keep the cluster and its connections)
 *   but gets no new calls; its instances stay registered and healthy.
 * - When no scale set with a usable endpoint has a weight above 0, the routes fall back to the
 *   service's own cluster (share by healthy instances) with a note: Envoy and grpc-js both reject
 *   a weighted route whose weights sum to 0, and a weight must never make a service with healthy
 *   instances fail every call.
 *
 * The route policy (retries, timeouts) comes with the set (`ServiceEndpointSet.policy`).
 *
 * Cost: proxyless clients subscribe only to the clusters their route names, so the service's own
 * cluster costs them nothing while weighted. The gateway gets every cluster (wildcard CDS), so
 * for a weighted service with a health path Envoy probes each instance from two clusters (its
 * subset and the service's): twice the probes, at the health-check interval.
 */
import type { MeshEndpoint, ServiceEndpointSet } from '../../shared/endpoints';
import { DEFAULT_WEIGHT, type RoutePolicy } from '../../shared/traffic';
import type { BuildOptions } from './build-options';
import { hasHealthyEndpoint } from './load-assignment';
import { clusterName, subsetClusterName } from './resource-names';

/** One scale set's part of a weighted service. */
export interface Subset {
  /** Lower-case ARM ID of the scale set; '' for endpoints pushed without one. */
  readonly scaleSet: string;
  readonly cluster: string;
  readonly endpoints: readonly MeshEndpoint[];
  /** The scale set's weight (tag, or DEFAULT_WEIGHT). */
  readonly weight: number;
  /** What the route gives it: `weight`, or 0 without a usable endpoint. */
  readonly routeWeight: number;
}

export type RouteTarget = { readonly cluster: string } | { readonly weightedClusters: ReadonlyArray<{ readonly name: string; readonly weight: number }> };

export interface ServiceRouting {
  /** Empty unless the service is weighted. */
  readonly subsets: readonly Subset[];
  readonly target: RouteTarget;
  readonly policy?: RoutePolicy;
  readonly notes: readonly string[];
}

function weightOf(endpoints: readonly MeshEndpoint[]): number {
  const counts = new Map<number, number>();
  for (const e of endpoints) {
    const w = e.scaleSetWeight ?? DEFAULT_WEIGHT;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  let best: [number, number] | undefined;
  for (const [w, n] of counts) if (!best || n > best[1] || (n === best[1] && w < best[0])) best = [w, n];
  return best?.[0] ?? DEFAULT_WEIGHT;
}

export function serviceRouting(set: ServiceEndpointSet, options: Pick<BuildOptions, 'onlyPassing'>): ServiceRouting {
  const policy = set.policy ? { policy: set.policy } : {};
  const whole: RouteTarget = { cluster: clusterName(set.service) };
  if (!set.endpoints.some((e) => e.scaleSetWeight !== undefined)) return { subsets: [], target: whole, ...policy, notes: [] };
  const byScaleSet = new Map<string, MeshEndpoint[]>();
  for (const e of set.endpoints) {
    // Lower-cased here too (the inputs already are): ARM IDs are case-insensitive and the subset's
    // cluster name is too, so `/s/BLUE` and `/s/blue` must be one subset, never two of one name.
    const key = (e.scaleSet ?? '').toLowerCase();
    const list = byScaleSet.get(key);
    if (list) list.push(e);
    else byScaleSet.set(key, [e]);
  }
  const subsets: Subset[] = [...byScaleSet.keys()].sort().map((scaleSet) => {
    const endpoints = byScaleSet.get(scaleSet) as MeshEndpoint[];
    const weight = weightOf(endpoints);
    // The subset's assignment is built from these endpoints by the same rule (load-assignment.ts).
    const usable = hasHealthyEndpoint({ ...set, endpoints }, options.onlyPassing);
    return { scaleSet, cluster: subsetClusterName(set.service, scaleSet), endpoints, weight, routeWeight: usable ? weight : 0 };
  });
  if (subsets.every((s) => s.routeWeight === 0)) {
    return {
      subsets,
      target: whole,
      ...policy,
      notes: [`service ${set.service}: no scale set with a healthy instance has a weight above 0; calls are shared by healthy instances as if no weight were set`],
    };
  }
  return { subsets, target: { weightedClusters: subsets.map((s) => ({ name: s.cluster, weight: s.routeWeight })) }, ...policy, notes: [] };
}
