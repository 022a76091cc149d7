/**
 * Consul's `/v1/health/service/:name` answer → the endpoint set the data plane receives. Only our
 * entries are asked for (our tag and node meta), so hand-registered instances of a service with
 * the same name never reach the mesh through us.
 */
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../endpoints';
import { MAINTENANCE_CHECK_ID, NODE_META, SERVICE_META } from '../ownership';
import { servicePolicy, trafficFromMeta, type RoutePolicy, type ServiceTraffic } from '../traffic';
import type { HealthServiceEntry } from './wire';
import { compareStrings } from '../compare-strings';

/** Used for a service with no endpoints left, where no instance meta says otherwise. */
export const DEFAULT_PROTOCOL = 'http';

export function endpointSetFrom(service: string, consulIndex: number, entries: readonly HealthServiceEntry[]): ServiceEndpointSet {
  const sorted = [...entries].sort((a, b) => compareStrings(a.Node.Node, b.Node.Node) || compareStrings(a.Service.ID, b.Service.ID));
  const first = sorted[0];
  const healthPath = first?.Service.Meta[SERVICE_META.healthPath];
  return {
    service,
    consulIndex,
    protocol: first?.Service.Meta[SERVICE_META.protocol] || DEFAULT_PROTOCOL,
    ...(healthPath ? { healthPath } : {}),
    endpoints: sorted.map(endpointOf),
    ...policyField(sorted.map((e) => e.Service.Meta)),
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
    ...scaleSetFields(entry.Service.Meta, entry.Node.Meta),
  };
}

/**
 * An endpoint's scale set (its ID lower-cased: ARM IDs are case-insensitive) and that scale set's
 * weight, from its registration's meta (absent in older ones).
 */
export function scaleSetFields(serviceMeta: Readonly<Record<string, string>>, nodeMeta: Readonly<Record<string, string>>): Pick<MeshEndpoint, 'scaleSet' | 'scaleSetWeight'> {
  const scaleSet = (serviceMeta[SERVICE_META.scaleSetId] || nodeMeta[NODE_META.scaleSetId])?.toLowerCase();
  const { weight } = trafficFromMeta(serviceMeta);
  return { ...(scaleSet ? { scaleSet } : {}), ...(weight !== undefined ? { scaleSetWeight: weight } : {}) };
}

/**
 * The service's route policy from its registrations' meta: each scale set's own (its registrations
 * carry the same tags; of a scale set in the middle of an update, the first one read counts), then
 * `servicePolicy` chooses between scale sets. `{}` when there is none.
 */
export function policyField(metas: ReadonlyArray<Readonly<Record<string, string>>>): { policy?: RoutePolicy } {
  const byScaleSet = new Map<string, ServiceTraffic>();
  for (const meta of metas) {
    const scaleSet = (meta[SERVICE_META.scaleSetId] ?? '').toLowerCase();
    if (!byScaleSet.has(scaleSet)) byScaleSet.set(scaleSet, trafficFromMeta(meta));
  }
  const policy = servicePolicy(byScaleSet);
  return policy ? { policy } : {};
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
