/**
 * Loads the push API's .proto (proto/vmss_mesh/relay/v1/push.proto) once and gives typed views of
 * its messages. Both the push client (used by the Functions app) and the relay's push server use it.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageFile } from '../../shared/package-files';

export const PUSH_PROTO_FILE = packageFile('proto/vmss_mesh/relay/v1/push.proto');

export type WireEndpointHealth =
  | 'ENDPOINT_HEALTH_UNSPECIFIED'
  | 'ENDPOINT_HEALTH_PASSING'
  | 'ENDPOINT_HEALTH_WARNING'
  | 'ENDPOINT_HEALTH_CRITICAL'
  | 'ENDPOINT_HEALTH_DRAINING';

export interface WireEndpoint {
  address: string;
  port: number;
  zone: string;
  health: WireEndpointHealth;
  weight: number;
  instanceName: string;
  /** The three scale-set fields are filled by proto-loader (defaults: true); optional for hand-built requests. */
  scaleSet?: string;
  hasScaleSetWeight?: boolean;
  scaleSetWeight?: number;
}

export interface WireRoutePolicy {
  retryOn: string[];
  numRetries: number;
  perTryTimeoutMs: number;
  timeoutMs: number;
}

export interface WireServiceEndpoints {
  service: string;
  consulIndex: number;
  endpoints: WireEndpoint[];
  protocol: string;
  healthPath: string;
  /** null (or absent) when the pusher sent none. */
  policy?: WireRoutePolicy | null;
}

export interface WirePushRequest {
  services: WireServiceEndpoints[];
  source: string;
}

export type WirePushOutcome = 'OUTCOME_UNSPECIFIED' | 'OUTCOME_ACCEPTED' | 'OUTCOME_CREATED' | 'OUTCOME_IGNORED_STALE';

export interface WirePushResponse {
  results: Array<{ service: string; outcome: WirePushOutcome; currentIndex: number }>;
}

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated `EndpointPush` service client constructor (its `.service` is the server definition). */
export function endpointPushService(): grpc.ServiceClientConstructor {
  if (!cached) {
    const definition = protoLoader.loadSync(PUSH_PROTO_FILE, LOADER_OPTIONS);
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      vmss_mesh: { relay: { v1: { EndpointPush: grpc.ServiceClientConstructor } } };
    };
    cached = loaded.vmss_mesh.relay.v1.EndpointPush;
  }
  return cached;
}

/** The push RPC's method name as proto-loader exposes it (the server's implementation key, the client's method). */
export const PUSH_METHOD = 'pushEndpoints';
