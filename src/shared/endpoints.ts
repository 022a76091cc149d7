/**
 * What the mesh's data plane needs to know about a service: its endpoint set, versioned by the
 * Consul index that produced it. The relay push client and the relay itself speak this shape.
 */

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
}

export interface ServiceEndpointSet {
  readonly service: string;
  readonly consulIndex: number;
  readonly protocol: string;
  readonly healthPath?: string;
  readonly endpoints: readonly MeshEndpoint[];
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
