/**
 * The two Consul reads the relay's watch makes, behind a small interface so the watch loop can be
 * driven by tests without a network:
 *  - our services: `/v1/catalog/services` filtered by our node meta, keeping names with our tag;
 *  - one service's endpoints: ConsulRegistry.serviceEndpoints (our tag and node meta, health).
 * Both take an optional blocking index. The relay never writes to Consul.
 */
import type { ConsulConfig } from '../../shared/config';
import { ConsulRegistry, ConsulTransport } from '../../shared/consul';
import { ownedNodeMetaFilter } from '../../shared/consul/owned-reader';
import { parseAnswer } from '../../shared/consul/transport';
import * as wire from '../../shared/consul/wire';
import type { ServiceEndpointSet } from '../../shared/endpoints';
import { SERVICE_TAG } from '../../shared/ownership';

export interface BlockingRead {
  /** Blocking index (X-Consul-Index of the previous answer); absent or 0 = answer at once. */
  readonly index?: number;
  readonly waitSeconds: number;
}

export interface ServiceList {
  /** X-Consul-Index of the answer (0 when Consul sent none). */
  readonly index: number;
  readonly services: readonly string[];
}

export interface WatchSource {
  ownedServices(read: BlockingRead): Promise<ServiceList>;
  serviceEndpoints(service: string, read: BlockingRead): Promise<ServiceEndpointSet>;
  /** Ends in-flight blocking reads (they reject) and frees connections. */
  close(): void;
}

/** Slack on top of Consul's wait (it adds up to wait/16 of jitter) before a blocking read times out. */
const BLOCKING_SLACK_MS = 15_000;

export function consulWatchSource(consul: ConsulConfig, kvPrefix: string): WatchSource {
  // The registry is only read from here; its write settings are inert but must be valid.
  const registry = new ConsulRegistry({ consul, kvPrefix, txnBatchSize: 64, tombstoneTtlMs: 0 });
  const transport = new ConsulTransport(consul);
  return {
    async ownedServices(read) {
      const blocking = read.index !== undefined && read.index > 0;
      const res = await transport.call({
        method: 'GET',
        path: '/catalog/services',
        query: { 'node-meta': ownedNodeMetaFilter(), ...(blocking ? { index: String(read.index), wait: `${read.waitSeconds}s` } : {}) },
        ...(blocking ? { timeoutMs: read.waitSeconds * 1000 + BLOCKING_SLACK_MS } : {}),
      });
      const services = Object.entries(parseAnswer(wire.catalogServices, res.body, 'catalog services'))
        .filter(([, tags]) => tags.includes(SERVICE_TAG))
        .map(([name]) => name)
        .sort();
      return { index: res.index, services };
    },
    async serviceEndpoints(service, read) {
      const blocking = read.index !== undefined && read.index > 0;
      const [set] = await registry.serviceEndpoints([service], blocking ? { index: read.index, wait: `${read.waitSeconds}s` } : {});
      if (!set) throw new Error(`ConsulRegistry.serviceEndpoints returned nothing for ${service}`);
      return set;
    },
    close() {
      registry.close();
      transport.close();
    },
  };
}
