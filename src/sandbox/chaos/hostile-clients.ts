/**
 * Hostile clients of the relay, each held open for a fault's window and then closed:
 * xDS — a huge node, a client that never reads, a NACK loop, unknown resource types;
 * push — a wrong token, an inflated consul_index (valid token), bytes that are no protobuf.
 * They return what the relay answered, for the report; the invariants judge the damage.
 */
import * as grpc from '@grpc/grpc-js';
import { GrpcPushClient } from '../../relay/push/push-client';
import { clusterName } from '../../relay/resources/resource-names';
import { TYPE_URLS } from '../../relay/xds/kinds';
import type { MeshEndpoint, ServiceEndpointSet } from '../../shared/endpoints';
import type { SeededRandom } from '../event-grid/seeded-random';
import { nodeMessage, nodeOf, rawAdsClient, RawAdsStream, type SotwResponse } from './raw-ads';
import type { ArmInstanceView } from './world-view';
import { expectedState } from './world-view';

export type HostileXdsKind = 'huge-node' | 'never-reading' | 'nack-loop' | 'unknown-types';
export type HostilePushKind = 'bad-token' | 'inflated-index' | 'garbage-payload';

/** Opens the hostile xDS client(s); the returned function closes them. */
export function openHostileXds(address: string, kind: HostileXdsKind, random: SeededRandom, services: readonly string[]): () => void {
  const client = rawAdsClient(address);
  const streams: Array<RawAdsStream<SotwResponse>> = [];
  const subscribeAll = (stream: RawAdsStream<SotwResponse>, node: Record<string, unknown>) => {
    stream.write({ node, type_url: TYPE_URLS.cluster, resource_names: [] });
    stream.write({ type_url: TYPE_URLS.endpoint, resource_names: services.map(clusterName) });
  };
  switch (kind) {
    case 'huge-node': {
      // A few streams, each announcing a node of about 1 MB (cluster, user agent, metadata).
      const big = 'x'.repeat(256 * 1024);
      for (let i = 0; i < 4; i += 1) {
        const stream = new RawAdsStream<SotwResponse>(client, 'StreamAggregatedResources', {});
        const node = nodeMessage(nodeOf('proxyless-grpc', `chaos-huge-${random.int(1e9)}`, { cluster: big, userAgent: big, metadata: { a: big, b: big } }));
        subscribeAll(stream, node);
        streams.push(stream);
      }
      break;
    }
    case 'never-reading': {
      const stream = new RawAdsStream<SotwResponse>(client, 'StreamAggregatedResources', {});
      stream.pause();
      subscribeAll(stream, nodeMessage(nodeOf('proxyless-grpc', `chaos-never-reads-${random.int(1e9)}`)));
      streams.push(stream);
      break;
    }
    case 'nack-loop': {
      let nacks = 0;
      const stream: RawAdsStream<SotwResponse> = new RawAdsStream<SotwResponse>(client, 'StreamAggregatedResources', {
        onResponse: (r) => {
          if (nacks++ < 200) stream.write({ type_url: r.type_url, version_info: '', response_nonce: r.nonce, resource_names: r.type_url === TYPE_URLS.endpoint ? services.map(clusterName) : [], error_detail: { code: 3, message: 'chaos: rejected' } });
        },
      });
      subscribeAll(stream, nodeMessage(nodeOf('proxyless-grpc', `chaos-nack-loop-${random.int(1e9)}`)));
      streams.push(stream);
      break;
    }
    case 'unknown-types': {
      const stream = new RawAdsStream<SotwResponse>(client, 'StreamAggregatedResources', {});
      stream.write({ node: nodeMessage(nodeOf('proxyless-grpc', `chaos-unknown-${random.int(1e9)}`)), type_url: 'type.googleapis.com/chaos.NoSuchType', resource_names: ['a'] });
      stream.write({ type_url: '', resource_names: [] });
      stream.write({ type_url: `type.googleapis.com/${'z'.repeat(10_000)}`, resource_names: [], response_nonce: 'never-sent' });
      streams.push(stream);
      break;
    }
  }
  return () => {
    for (const stream of streams) stream.cancel();
    client.close();
  };
}

/** What the Functions app would push for ARM's current view of a service. */
export function endpointSetOf(service: string, port: number, instances: readonly ArmInstanceView[], consulIndex: number): ServiceEndpointSet {
  const endpoints: MeshEndpoint[] = instances
    .filter((v) => v.service === service && v.instance.provisioningState !== 'Creating')
    .map((v) => ({ address: v.ip, port, zone: v.instance.zone ?? '', health: expectedState(v.instance), weight: 1, instanceName: v.instance.name }));
  return { service, consulIndex, protocol: 'grpc', endpoints };
}

/** What the relay answered a hostile push: its gRPC status name (`OK` when it accepted it) and the whole text. */
export interface PushAnswer {
  readonly status: string;
  readonly text: string;
}

/** The answer each hostile push must get; anything else is a hole the push let through. */
export const EXPECTED_PUSH_STATUS: Readonly<Record<HostilePushKind, (status: string) => boolean>> = {
  // A wrong token is refused for the token, whatever the push carries.
  'bad-token': (status) => status === 'UNAUTHENTICATED',
  // More than 1000 ahead of the relay's index and Consul cannot confirm it.
  'inflated-index': (status) => status === 'FAILED_PRECONDITION',
  'garbage-payload': (status) => status !== 'OK',
};

/** A problem line when the relay's answer is not the one `kind` must get, else undefined. */
export function judgePushAnswer(kind: HostilePushKind, answer: PushAnswer): string | undefined {
  if (EXPECTED_PUSH_STATUS[kind](answer.status)) return undefined;
  const want = kind === 'bad-token' ? 'UNAUTHENTICATED' : kind === 'inflated-index' ? 'FAILED_PRECONDITION' : 'a refusal';
  return `${kind} push answered ${answer.text.slice(0, 160)} (must be ${want})`;
}

/** The status name at the start of a push client's error text (`UNAUTHENTICATED: …`). */
function statusOf(text: string): string {
  const name = /^([A-Z_]+):/.exec(text)?.[1];
  return name && name in grpc.status ? name : 'UNKNOWN';
}

/**
 * Makes one hostile push; answers what the relay said. A wrong token carries an empty set at the
 * index given (the relay's current one): only the token can refuse it, and accepted it would cut
 * the service off.
 */
export async function hostilePush(address: string, token: string, kind: HostilePushKind, random: SeededRandom, set: ServiceEndpointSet): Promise<PushAnswer> {
  if (kind === 'garbage-payload') {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const bytes = Buffer.from(Array.from({ length: 1 + random.int(4096) }, () => random.int(256)));
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    try {
      return await new Promise<PushAnswer>((resolve) => {
        client.makeUnaryRequest('/vmss_mesh.relay.v1.EndpointPush/PushEndpoints', (b: Buffer) => b, (b: Buffer) => b, bytes, metadata, { deadline: Date.now() + 2000 }, (error) =>
          resolve(error ? { status: grpc.status[error.code] ?? 'UNKNOWN', text: `${grpc.status[error.code]}: ${error.details}` } : { status: 'OK', text: 'OK (garbage accepted)' }),
        );
      });
    } finally {
      client.close();
    }
  }
  const client = new GrpcPushClient({ targets: [address], token: kind === 'bad-token' ? `wrong-${random.int(1e9)}` : token });
  try {
    const pushed = kind === 'bad-token' ? { ...set, endpoints: [] } : set;
    const [result] = await client.publish([pushed], 'chaos');
    if (result?.ok) return { status: 'OK', text: `OK ${result.services?.map((s) => `${s.service}:${s.outcome}@${s.currentIndex}`).join(',')}` };
    const text = result?.error ?? 'no result';
    return { status: statusOf(text), text };
  } finally {
    client.close();
  }
}
