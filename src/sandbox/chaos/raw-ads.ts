/**
 * The smallest raw ADS stream the chaos soak needs (moved from test/helpers/raw-ads-client.ts in
 * spirit): it writes exactly the DiscoveryRequest / DeltaDiscoveryRequest given, built on Envoy's
 * own protos, and hands back each response decoded enough to ACK or NACK it.
 */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { PROFILE_METADATA_KEY } from '../../relay/ads/profile';
import type { ClientProfile } from '../../relay/xds/client-profile';
import { envoyType } from '../../relay/xds/envoy-protos';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

export interface RawNode {
  readonly id: string;
  readonly cluster?: string;
  readonly userAgent?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export function nodeOf(profile: ClientProfile, id: string, extra: Partial<RawNode> = {}): RawNode {
  return { id, cluster: extra.cluster ?? 'chaos', userAgent: extra.userAgent ?? 'vmss-mesh-chaos', metadata: { [PROFILE_METADATA_KEY]: profile, ...(extra.metadata ?? {}) } };
}

export function nodeMessage(node: RawNode): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node.metadata ?? {})) fields[key] = { stringValue: value };
  return { id: node.id, cluster: node.cluster ?? '', user_agent_name: node.userAgent ?? '', metadata: { fields } };
}

export interface AnyResource {
  readonly type_url: string;
  readonly value: Uint8Array;
}

export interface SotwResponse {
  readonly version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly resources: AnyResource[];
}

export interface DeltaResponse {
  readonly system_version_info: string;
  readonly type_url: string;
  readonly nonce: string;
  readonly resources: Array<{ name: string; version: string; resource?: AnyResource }>;
  readonly removed_resources: string[];
}

function codec(typeName: string): { encode: (value: Record<string, unknown>) => Buffer; decode: (buffer: Buffer) => unknown } {
  let type: protobuf.Type | undefined;
  return {
    encode: (value) => {
      type ??= envoyType(typeName);
      return Buffer.from(type.encode(type.fromObject(value)).finish());
    },
    decode: (buffer) => {
      type ??= envoyType(typeName);
      return type.decode(buffer);
    },
  };
}

const SOTW_REQUEST = codec('envoy.service.discovery.v3.DiscoveryRequest');
const SOTW_RESPONSE = codec('envoy.service.discovery.v3.DiscoveryResponse');
const DELTA_REQUEST = codec('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const DELTA_RESPONSE = codec('envoy.service.discovery.v3.DeltaDiscoveryResponse');

/** One ADS stream; `onResponse` sees each response, `onEnd` the final status (or a local error). */
export class RawAdsStream<Response> {
  private readonly call: grpc.ClientDuplexStream<Record<string, unknown>, Buffer>;
  ended: grpc.StatusObject | undefined;

  constructor(
    client: grpc.Client,
    method: 'StreamAggregatedResources' | 'DeltaAggregatedResources',
    handlers: { readonly onResponse?: (response: Response) => void; readonly onEnd?: (status: grpc.StatusObject) => void },
  ) {
    const request = method === 'StreamAggregatedResources' ? SOTW_REQUEST : DELTA_REQUEST;
    const response = method === 'StreamAggregatedResources' ? SOTW_RESPONSE : DELTA_RESPONSE;
    this.call = client.makeBidiStreamRequest(`${SERVICE}/${method}`, request.encode, (buffer: Buffer) => buffer);
    this.call.on('data', (buffer: Buffer) => {
      let decoded: Response;
      try {
        decoded = response.decode(buffer) as Response;
      } catch {
        return; // a response we cannot decode is the consistency check's business, not a crash
      }
      handlers.onResponse?.(decoded);
    });
    this.call.on('error', () => undefined); // the status carries it
    this.call.on('status', (status: grpc.StatusObject) => {
      this.ended = status;
      handlers.onEnd?.(status);
    });
  }

  write(request: Record<string, unknown>): void {
    if (!this.ended) this.call.write(request);
  }

  /** Stops reading: the server's sends then pile up on its side (a client that never reads). */
  pause(): void {
    this.call.pause();
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** A client on a channel of its own (its own HTTP/2 connection). */
export function rawAdsClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
}
