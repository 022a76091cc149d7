/**
 * A resource before encoding: the plain object protobufjs's `fromObject` takes (field names as in
 * the .proto, enums as strings, nested Anys as `{'@type', ...fields}`), and what it refers to.
 *
 * References are read back from the spec itself rather than from the builders' bookkeeping, so the
 * snapshot's consistency check verifies what will actually be sent.
 */
import type { ResourceKind } from '../snapshot/snapshot-types';
import { HTTP_CONNECTION_MANAGER_TYPE } from './resource-names';
import { typeUrlOf } from '../xds/envoy-protos';

export type ResourceSpec = Readonly<Record<string, unknown>>;

export interface ResourceRefs {
  /** RDS names a listener's HttpConnectionManager asks for. */
  readonly routeConfigs: readonly string[];
  /** Clusters a route configuration (or an inline route_config) routes to. */
  readonly clusters: readonly string[];
  /** ClusterLoadAssignment names an EDS cluster needs. */
  readonly loadAssignments: readonly string[];
}

const NO_REFS: ResourceRefs = { routeConfigs: [], clusters: [], loadAssignments: [] };

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const HCM_TYPE_URL = typeUrlOf(HTTP_CONNECTION_MANAGER_TYPE);

function routeClusters(routeConfig: Readonly<Record<string, unknown>> | undefined): string[] {
  const clusters: string[] = [];
  for (const vhost of list(routeConfig?.virtual_hosts)) {
    for (const route of list(record(vhost)?.routes)) {
      const action = record(record(route)?.route);
      const cluster = text(action?.cluster);
      if (cluster !== undefined) clusters.push(cluster);
      for (const weighted of list(record(action?.weighted_clusters)?.clusters)) {
        const name = text(record(weighted)?.name);
        if (name !== undefined) clusters.push(name);
      }
    }
  }
  return clusters;
}

function hcmRefs(hcm: Readonly<Record<string, unknown>> | undefined, routeConfigs: string[], clusters: string[]): void {
  if (!hcm || hcm['@type'] !== HCM_TYPE_URL) return;
  const rdsName = text(record(hcm.rds)?.route_config_name);
  if (rdsName !== undefined) routeConfigs.push(rdsName);
  clusters.push(...routeClusters(record(hcm.route_config)));
}

export function referencesOf(kind: ResourceKind, spec: ResourceSpec): ResourceRefs {
  switch (kind) {
    case 'listener': {
      const routeConfigs: string[] = [];
      const clusters: string[] = [];
      hcmRefs(record(record(spec.api_listener)?.api_listener), routeConfigs, clusters);
      for (const chain of [...list(spec.filter_chains), spec.default_filter_chain]) {
        for (const filter of list(record(chain)?.filters)) hcmRefs(record(record(filter)?.typed_config), routeConfigs, clusters);
      }
      return { routeConfigs, clusters, loadAssignments: [] };
    }
    case 'route':
      return { routeConfigs: [], clusters: routeClusters(spec), loadAssignments: [] };
    case 'cluster': {
      if (spec.type !== 'EDS') return NO_REFS;
      const serviceName = text(record(spec.eds_cluster_config)?.service_name);
      return { routeConfigs: [], clusters: [], loadAssignments: [serviceName || text(spec.name) || ''] };
    }
    case 'endpoint':
      return NO_REFS;
  }
}
