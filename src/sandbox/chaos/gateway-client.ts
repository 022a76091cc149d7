/**
 * The Envoy gateway profile's client in the chaos soak: a raw Delta ADS stream (what Envoy
 * speaks) that subscribes to every cluster and to each mesh service's endpoints, ACKs what it can
 * decode, NACKs what it cannot, reconnects after a relay restart, and keeps what it received, so
 * the soak can compare it with ARM and check it is consistent (every cluster has its endpoints).
 */
import { clusterName } from '../../relay/resources/resource-names';
import { TYPE_URLS } from '../../relay/xds/kinds';
import { envoyType } from '../../relay/xds/envoy-protos';
import type * as grpc from '@grpc/grpc-js';
import { decodeEndpoints, type EndpointView } from './world-view';
import { nodeMessage, nodeOf, rawAdsClient, RawAdsStream, type DeltaResponse } from './raw-ads';

export class GatewayClient {
  private readonly client: grpc.Client;
  private stream: RawAdsStream<DeltaResponse> | undefined;
  private clusters = new Set<string>();
  private endpoints = new Map<string, Map<string, string>>();
  private closed = false;
  responses = 0;
  nacks = 0;
  reconnects = 0;
  readonly problems: string[] = [];

  constructor(
    address: string,
    private readonly services: readonly string[],
  ) {
    this.client = rawAdsClient(address);
    this.open();
  }

  private open(): void {
    this.clusters = new Set();
    this.endpoints = new Map();
    const stream = new RawAdsStream<DeltaResponse>(this.client, 'DeltaAggregatedResources', {
      onResponse: (response) => this.receive(stream, response),
      onEnd: () => {
        if (this.closed) return;
        this.reconnects += 1;
        setTimeout(() => !this.closed && this.open(), 100).unref();
      },
    });
    this.stream = stream;
    stream.write({ node: nodeMessage(nodeOf('envoy-gateway', 'chaos-gateway')), type_url: TYPE_URLS.cluster, resource_names_subscribe: ['*'] });
    stream.write({ type_url: TYPE_URLS.endpoint, resource_names_subscribe: this.services.map(clusterName) });
  }

  private receive(stream: RawAdsStream<DeltaResponse>, response: DeltaResponse): void {
    this.responses += 1;
    let error: string | undefined;
    try {
      if (response.type_url === TYPE_URLS.cluster) {
        const type = envoyType('envoy.config.cluster.v3.Cluster');
        for (const r of response.resources) {
          const name = String((type.decode(r.resource?.value ?? new Uint8Array()) as unknown as { name: string }).name);
          if (name !== r.name) throw new Error(`Resource.name ${r.name} wraps cluster ${name}`);
          this.clusters.add(name);
        }
        for (const name of response.removed_resources) this.clusters.delete(name);
      } else if (response.type_url === TYPE_URLS.endpoint) {
        for (const r of response.resources) this.endpoints.set(r.name, decodeEndpoints(r.resource?.value ?? new Uint8Array()));
        for (const name of response.removed_resources) this.endpoints.delete(name);
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      this.nacks += 1;
      this.problems.push(`gateway NACKed ${response.type_url}: ${error}`);
    }
    stream.write({ type_url: response.type_url, response_nonce: response.nonce, ...(error ? { error_detail: { code: 3, message: error } } : {}) });
  }

  /** What the gateway holds, per service (undefined = no ClusterLoadAssignment received). */
  readonly view: EndpointView = (service) => this.endpoints.get(clusterName(service));

  /** Consistency: every mesh service the gateway has a cluster for also has its endpoints. */
  inconsistencies(): string[] {
    return this.services.filter((s) => this.clusters.has(clusterName(s)) && !this.endpoints.has(clusterName(s))).map((s) => `gateway: cluster ${s} without endpoints`);
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
    this.client.close();
  }
}
