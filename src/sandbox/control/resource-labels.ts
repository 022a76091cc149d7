/**
 * How the views name xDS resource kinds. The relay reports a client's versions keyed by kind
 * (`cluster`) or by type URL; people know them as CDS/EDS/LDS/RDS, in that order (the order
 * in which a server sends them).
 */
export const RESOURCE_LABELS: Readonly<Record<string, string>> = {
  cluster: 'CDS',
  endpoint: 'EDS',
  listener: 'LDS',
  route: 'RDS',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'CDS',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': 'EDS',
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'LDS',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'RDS',
};

export const RESOURCE_LABEL_ORDER: readonly string[] = ['CDS', 'EDS', 'LDS', 'RDS'];
