/**
 * What the relay knows of the mesh: every service's endpoint set (newest Consul index wins) and
 * the gateway's routing rules. Snapshots are built from this.
 */
import type { ServiceEndpointSet } from '../shared/endpoints';

/** A gateway routing rule: requests matching host (optional) and path prefix go to `service`. */
export interface GatewayRoute {
  /** Host / authority to match (`*` or absent = any). */
  readonly host?: string;
  readonly pathPrefix: string;
  readonly service: string;
}

export interface MeshState {
  /** Keyed by service name. */
  readonly services: ReadonlyMap<string, ServiceEndpointSet>;
  /** Empty = the default: `/` to the only service when there is exactly one. */
  readonly gatewayRoutes: readonly GatewayRoute[];
}
