/**
 * Which ClusterLoadAssignment an EDS cluster reads: `eds_cluster_config.service_name`, or the
 * cluster's own name when that is empty (Envoy's and gRPC's rule). The protocol code needs it to
 * resend a cluster's endpoints after the cluster changed (Envoy keeps an updated cluster warming
 * until it gets a fresh EDS response, even an identical one).
 *
 * Decoded once per EncodedResource (the objects are shared by all streams) and cached weakly, so
 * the cache goes away with the snapshots that hold the resources.
 */
import type * as protobuf from 'protobufjs';
import type { EncodedResource } from '../snapshot/snapshot-types';
import { envoyType } from '../xds/envoy-protos';

const cache = new WeakMap<EncodedResource, string>();
let clusterType: protobuf.Type | undefined;

export function edsNameOfCluster(cluster: EncodedResource): string {
  let name = cache.get(cluster);
  if (name === undefined) {
    name = cluster.name;
    try {
      clusterType ??= envoyType('envoy.config.cluster.v3.Cluster');
      const decoded = clusterType.toObject(clusterType.decode(cluster.bytes), { defaults: false }) as {
        eds_cluster_config?: { service_name?: unknown };
      };
      const serviceName = decoded.eds_cluster_config?.service_name;
      if (typeof serviceName === 'string' && serviceName !== '') name = serviceName;
    } catch {
      // Undecodable bytes cannot reach a client that accepts them; the cluster name is the best guess.
    }
    cache.set(cluster, name);
  }
  return name;
}
