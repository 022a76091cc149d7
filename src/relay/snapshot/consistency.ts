/**
 * A snapshot is published only when it is whole: a client must never be told about a route
 * configuration, cluster or assignment it cannot get, nor get a resource nothing refers to.
 */
import { RESOURCE_KINDS, type ResourceKind, type ResourceRefs } from '../xds/resource-kind';

export interface ReferencingResource {
  readonly name: string;
  readonly refs: ResourceRefs;
}

/** Problems found, each a sentence naming the resource; empty = consistent. */
export function consistencyProblems(resources: Readonly<Record<ResourceKind, readonly ReferencingResource[]>>): string[] {
  const problems: string[] = [];
  const names = {} as Record<ResourceKind, Set<string>>;
  for (const kind of RESOURCE_KINDS) {
    names[kind] = new Set();
    for (const r of resources[kind]) {
      if (names[kind].has(r.name)) problems.push(`${kind} ${JSON.stringify(r.name)} appears twice`);
      names[kind].add(r.name);
    }
  }
  const usedRoutes = new Set<string>();
  const usedAssignments = new Set<string>();
  for (const listener of resources.listener) {
    for (const route of listener.refs.routeConfigs) {
      usedRoutes.add(route);
      if (!names.route.has(route)) problems.push(`listener ${JSON.stringify(listener.name)} asks for route configuration ${JSON.stringify(route)}, which does not exist`);
    }
    for (const cluster of listener.refs.clusters) {
      if (!names.cluster.has(cluster)) problems.push(`listener ${JSON.stringify(listener.name)} routes to cluster ${JSON.stringify(cluster)}, which does not exist`);
    }
  }
  for (const route of resources.route) {
    if (!usedRoutes.has(route.name)) problems.push(`route configuration ${JSON.stringify(route.name)} is used by no listener`);
    for (const cluster of route.refs.clusters) {
      if (!names.cluster.has(cluster)) problems.push(`route configuration ${JSON.stringify(route.name)} routes to cluster ${JSON.stringify(cluster)}, which does not exist`);
    }
  }
  for (const cluster of resources.cluster) {
    for (const assignment of cluster.refs.loadAssignments) {
      usedAssignments.add(assignment);
      if (!names.endpoint.has(assignment)) problems.push(`cluster ${JSON.stringify(cluster.name)} has no ClusterLoadAssignment ${JSON.stringify(assignment)}`);
    }
  }
  for (const assignment of resources.endpoint) {
    if (!usedAssignments.has(assignment.name)) problems.push(`ClusterLoadAssignment ${JSON.stringify(assignment.name)} belongs to no EDS cluster`);
  }
  return problems;
}
