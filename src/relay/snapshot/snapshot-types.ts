/**
 * The seam between "what the mesh looks like" (mesh state → encoded xDS resources) and the ADS
 * protocol servers (SotW and Delta): a snapshot and where to get it. The resources themselves and
 * each kind's rules are in `../xds/`.
 */
import type { ClientProfile } from '../xds/client-profile';
import type { EncodedResource, ResourceKind } from '../xds/resource-kind';

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
