/**
 * RouteConfiguration (RDS): named by `name`, refers to the clusters its routes go to. No wildcard;
 * SotW responses carry only what changed, and a deletion is only forgotten (the listener's update
 * unlinks it).
 */
import { defineKind, type ResourceSpec } from './resource-kind';
import { list, record, text } from './spec-fields';

/** Clusters a route configuration (or a listener's inline `route_config`) routes to. */
export function routeClusters(routeConfig: ResourceSpec | undefined): string[] {
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

export const ROUTE_KIND = defineKind({
  kind: 'route',
  typeName: 'envoy.config.route.v3.RouteConfiguration',
  nameField: 'name',
  referencesOf: (spec) => ({ routeConfigs: [], clusters: routeClusters(spec), loadAssignments: [] }),
});
