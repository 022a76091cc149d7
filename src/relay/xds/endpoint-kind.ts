/**
 * ClusterLoadAssignment (EDS): named by `cluster_name` (the EDS service name of the clusters that
 * read it), refers to nothing. No wildcard; SotW responses carry only what changed, and a deletion
 * is only forgotten (the cluster's update unlinks it).
 */
import { defineKind } from './resource-kind';

export const ENDPOINT_KIND = defineKind({ kind: 'endpoint', typeName: 'envoy.config.endpoint.v3.ClusterLoadAssignment', nameField: 'cluster_name' });
