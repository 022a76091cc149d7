/**
 * Consul's `/v1/health/service/:name` answer → the endpoint set the data plane receives. Only our
 * entries are asked for (our tag and node meta), so hand-registered instances of a service with
 * the same name never reach the mesh through us.
 */
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../endpoints';
import { MAINTENANCE_CHECK_ID, NODE_META, SERVICE_META } from '../ownership';
import type { HealthServiceEntry } from './wire';

/** Used for a service with no endpoints left, where no instance meta says otherwise. */
export const DEFAULT_PROTOCOL = 'http';

export function endpointSetFrom(service: string, consulIndex: number, entries: readonly HealthServiceEntry[]): ServiceEndpointSet {
  const sorted = [...entries].sort((a, b) => compare(a.Node.Node, b.Node.Node) || compare(a.Service.ID, b.Service.ID));
  const first = sorted[0];
  const healthPath = first?.Service.Meta[SERVICE_META.healthPath];
  return {
    service,
    consulIndex,
    protocol: first?.Service.Meta[SERVICE_META.protocol] || DEFAULT_PROTOCOL,
    ...(healthPath ? { healthPath } : {}),
    endpoints: sorted.map(endpointOf),
  };
}

function endpointOf(entry: HealthServiceEntry): MeshEndpoint {
  const health = healthOf(entry);
  const weights = entry.Service.Weights;
  const weight = health === 'warning' ? weights?.Warning : weights?.Passing;
  return {
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    zone: entry.Service.Meta[SERVICE_META.zone] ?? entry.Node.Meta[NODE_META.zone] ?? '',
    health,
    weight: Math.max(1, Math.floor(weight ?? 1)),
    instanceName: entry.Service.Meta[SERVICE_META.instanceName] ?? entry.Node.Node,
  };
}

/** Maintenance (drain) wins; otherwise the worst check; an unknown status counts as critical. */
export function healthOf(entry: HealthServiceEntry): EndpointHealth {
  if (entry.Checks.some((c) => c.CheckID === MAINTENANCE_CHECK_ID)) return 'draining';
  let worst: EndpointHealth = 'passing';
  for (const check of entry.Checks) {
    if (check.Status === 'passing') continue;
    if (check.Status === 'warning') worst = worst === 'critical' ? worst : 'warning';
    else worst = 'critical';
  }
  return worst;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
