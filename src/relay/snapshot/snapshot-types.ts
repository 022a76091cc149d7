/**
 * The seam between "what the mesh looks like" (mesh state → encoded xDS resources) and the ADS
 * protocol servers (SotW and Delta). The protocol code depends only on this file.
 */

/** The four xDS resource kinds the relay serves, in make-before-break order. */
export const RESOURCE_KINDS = ['cluster', 'endpoint', 'listener', 'route'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export const TYPE_URLS: Readonly<Record<ResourceKind, string>> = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
};

export function kindOfTypeUrl(typeUrl: string): ResourceKind | undefined {
  return RESOURCE_KINDS.find((k) => TYPE_URLS[k] === typeUrl);
}

/** LDS and CDS are state-of-the-world types: a SotW response must carry every subscribed resource. */
export const SOTW_REQUIRES_ALL: Readonly<Record<ResourceKind, boolean>> = { listener: true, cluster: true, route: false, endpoint: false };

/** Which set of resources a client gets; chosen from its node (see `profile.ts`). */
export type ClientProfile = 'envoy-gateway' | 'proxyless-grpc';

/**
 * One resource, encoded once per content and shared by every stream that sends it.
 * Immutable: callers must not alter `bytes`.
 */
export interface EncodedResource {
  readonly kind: ResourceKind;
  readonly name: string;
  /** Content hash of `bytes`: equal version ⇔ equal bytes. */
  readonly version: string;
  /** The serialized resource message (the `value` of its google.protobuf.Any). */
  readonly bytes: Uint8Array;
}

/** An immutable, internally consistent set of resources for one profile. */
export interface Snapshot {
  /** Changes whenever any resource changes; informational (`version_info`, `system_version_info`). */
  readonly version: string;
  readonly resources: Readonly<Record<ResourceKind, ReadonlyMap<string, EncodedResource>>>;
}

/**
 * Where the protocol servers get snapshots. Implementations must call listeners synchronously
 * after publishing a new snapshot, and never alter a published snapshot.
 */
export interface SnapshotSource {
  current(profile: ClientProfile): Snapshot;
  /** `true` once the first complete state (from Consul) is loaded; clients are answered only then. */
  ready(): boolean;
  /** Called with the profiles whose snapshot changed. Returns an unsubscribe function. */
  onChange(listener: (profiles: ReadonlySet<ClientProfile>) => void): () => void;
}
