/**
 * What the mesh's data plane needs to know about a service: its endpoint set, versioned by the
 * Consul index that produced it. The relay push client and the relay itself speak this shape.
 */
import { samePolicy, type RoutePolicy } from './traffic';

export type EndpointHealth = 'passing' | 'warning' | 'critical' | 'draining';

export interface MeshEndpoint {
  /** IP literal. */
  readonly address: string;
  readonly port: number;
  /** Azure zone, or '' for regional instances. */
  readonly zone: string;
  readonly health: EndpointHealth;
  /** Relative weight, ≥ 1. */
  readonly weight: number;
  readonly instanceName: string;
  /** Normalised (lower-case) ARM ID of the scale set the instance belongs to; absent from older pushers. */
  readonly scaleSet?: string;
  /**
   * That scale set's weight for this service (`vmss-mesh-weight`, 0–1000); absent when the scale
   * set has no weight tag. When any endpoint of a service has one, the relay shares the service's
   * traffic between its scale sets by weight (relay/resources/traffic-split.ts).
   */
  readonly scaleSetWeight?: number;
}

export interface ServiceEndpointSet {
  readonly service: string;
  readonly consulIndex: number;
  readonly protocol: string;
  readonly healthPath?: string;
  readonly endpoints: readonly MeshEndpoint[];
  /** Retries and timeouts of the service's routes (traffic.ts `servicePolicy`); absent = none. */
  readonly policy?: RoutePolicy;
}

export function sameEndpoint(a: MeshEndpoint, b: MeshEndpoint): boolean {
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.zone === b.zone &&
    a.health === b.health &&
    a.weight === b.weight &&
    a.instanceName === b.instanceName &&
    (a.scaleSet ?? '') === (b.scaleSet ?? '') &&
    a.scaleSetWeight === b.scaleSetWeight
  );
}

/**
 * Equal content for the data plane: everything but the Consul index (scale sets, their weights and
 * the route policy included: a weight change must reach the data plane), endpoints compared in
 * order. The one rule for "did this service change": the relay's state store and its snapshot
 * store both use it.
 */
export function sameEndpointSetContent(a: ServiceEndpointSet, b: ServiceEndpointSet): boolean {
  if (a === b) return true;
  if (a.service !== b.service || a.protocol !== b.protocol || (a.healthPath ?? '') !== (b.healthPath ?? '') || a.endpoints.length !== b.endpoints.length) return false;
  if (!samePolicy(a.policy, b.policy)) return false;
  return a.endpoints.every((e, i) => sameEndpoint(e, b.endpoints[i] as MeshEndpoint));
}

export type PushOutcome = 'accepted' | 'created' | 'ignored-stale';

export interface RelayPushResult {
  readonly target: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly services?: ReadonlyArray<{ readonly service: string; readonly outcome: PushOutcome; readonly currentIndex: number }>;
}

/**
 * Sends endpoint sets to the data plane. Implementations never throw for a relay that is down:
 * a failed push must not fail the reconcile (relays also watch Consul); they report it instead.
 */
export interface EndpointPublisher {
  publish(sets: readonly ServiceEndpointSet[], source: string): Promise<readonly RelayPushResult[]>;
  close(): void;
}

/** Used when no relay is configured. */
export const noRelayPublisher: EndpointPublisher = {
  publish: async () => [],
  close: () => undefined,
};
