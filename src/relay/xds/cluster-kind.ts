/**
 * Cluster (CDS): named by `name`; an EDS cluster reads the ClusterLoadAssignment named by
 * `eds_cluster_config.service_name`, or by the cluster's own name when that is empty (Envoy's and
 * gRPC's rule). A root kind: wildcard subscriptions, SotW responses carry every subscribed
 * cluster, and the first request is answered even when there is none.
 */
import { defineKind, NO_REFS, type ResourceSpec } from './resource-kind';
import { record, text } from './spec-fields';

function edsServiceNameOf(spec: ResourceSpec): string | undefined {
  if (spec.type !== 'EDS') return undefined;
  return text(record(spec.eds_cluster_config)?.service_name) || text(spec.name) || '';
}

export const CLUSTER_KIND = defineKind({
  kind: 'cluster',
  typeName: 'envoy.config.cluster.v3.Cluster',
  nameField: 'name',
  wildcard: true,
  sotwRequiresAll: true,
  answersFirstRequest: true,
  edsServiceNameOf,
  referencesOf(spec) {
    const assignment = edsServiceNameOf(spec);
    return assignment === undefined ? NO_REFS : { routeConfigs: [], clusters: [], loadAssignments: [assignment] };
  },
});
