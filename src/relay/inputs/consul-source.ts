/**
 * The two Consul reads the relay's watch makes, behind a small interface so the watch loop can be
 * driven by tests without a network, both through a CatalogReader (shared/consul/catalog-reader.ts),
 * which can only read:
 *  - our services: `/v1/catalog/services` filtered by our node meta, keeping names with our tag;
 *  - one service's endpoints: `/v1/health/service/:name` (our tag and node meta, health).
 * Both take an optional blocking index. The relay never writes to Consul.
 */
import type { ConsulConfig } from '../../shared/config';
import { CatalogReader } from '../../shared/consul/catalog-reader';
import type { OwnedServiceNames, WatchIndex } from '../../shared/consul/catalog-reader';
import type { ServiceEndpointSet } from '../../shared/endpoints';

export interface BlockingRead {
  /** Blocking index (X-Consul-Index of the previous answer); absent or 0 = answer at once. */
  readonly index?: number;
  readonly waitSeconds: number;
}

/** Our service names (sorted) and the X-Consul-Index of the answer (0 when Consul sent none). */
export type ServiceList = OwnedServiceNames;

export interface WatchSource {
  ownedServices(read: BlockingRead): Promise<ServiceList>;
  serviceEndpoints(service: string, read: BlockingRead): Promise<ServiceEndpointSet>;
  /** Ends in-flight blocking reads (they reject) and frees connections. */
  close(): void;
}

export function consulWatchSource(consul: ConsulConfig): WatchSource {
  const reader = CatalogReader.connect(consul);
  return {
    ownedServices: (read) => reader.ownedServiceNames(watchIndex(read)),
    serviceEndpoints: (service, read) => reader.serviceEndpointSet(service, watchIndex(read)),
    close: () => reader.close(),
  };
}

/** A blocking read when the relay holds an index, else one answered at once. */
function watchIndex(read: BlockingRead): WatchIndex {
  return read.index !== undefined && read.index > 0 ? { index: read.index, wait: `${read.waitSeconds}s` } : {};
}
