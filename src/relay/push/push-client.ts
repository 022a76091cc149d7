/**
 * The Functions app's side of the push API: one long-lived gRPC client per configured relay.
 * A relay that is down or rejects the push is reported, never thrown: relays also watch Consul,
 * so a lost push only delays the data plane, it never loses state.
 */
import * as grpc from '@grpc/grpc-js';
import type { EndpointHealth, EndpointPublisher, PushOutcome, RelayPushResult, ServiceEndpointSet } from '../../shared/endpoints';
import { endpointPushService, PUSH_METHOD, type WireEndpointHealth, type WirePushOutcome, type WirePushRequest, type WirePushResponse } from './push-proto';

export interface PushClientOptions {
  /** `host:port` of each relay's push API. */
  readonly targets: readonly string[];
  readonly token?: string;
  /** TLS with the system's CAs (or `rootCerts`) instead of plaintext. */
  readonly tls?: boolean;
  readonly rootCerts?: Buffer;
  /** Deadline of one call, default 2000 ms. */
  readonly timeoutMs?: number;
}

const HEALTH_TO_WIRE: Record<EndpointHealth, WireEndpointHealth> = {
  passing: 'ENDPOINT_HEALTH_PASSING',
  warning: 'ENDPOINT_HEALTH_WARNING',
  critical: 'ENDPOINT_HEALTH_CRITICAL',
  draining: 'ENDPOINT_HEALTH_DRAINING',
};

const OUTCOME_FROM_WIRE: Partial<Record<WirePushOutcome, PushOutcome>> = {
  OUTCOME_ACCEPTED: 'accepted',
  OUTCOME_CREATED: 'created',
  OUTCOME_IGNORED_STALE: 'ignored-stale',
};

export function toWireRequest(sets: readonly ServiceEndpointSet[], source: string): WirePushRequest {
  return {
    source,
    services: sets.map((set) => ({
      service: set.service,
      consulIndex: set.consulIndex,
      protocol: set.protocol,
      healthPath: set.healthPath ?? '',
      endpoints: set.endpoints.map((e) => ({
        address: e.address,
        port: e.port,
        zone: e.zone,
        health: HEALTH_TO_WIRE[e.health],
        weight: e.weight,
        instanceName: e.instanceName,
        scaleSet: e.scaleSet ?? '',
        hasScaleSetWeight: e.scaleSetWeight !== undefined,
        scaleSetWeight: e.scaleSetWeight ?? 0,
      })),
      ...(set.policy
        ? {
            policy: {
              retryOn: [...set.policy.retryOn],
              numRetries: set.policy.numRetries ?? 0,
              perTryTimeoutMs: set.policy.perTryTimeoutMs ?? 0,
              timeoutMs: set.policy.timeoutMs ?? 0,
            },
          }
        : {}),
    })),
  };
}

type UnaryCall = (
  request: WirePushRequest,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: WirePushResponse) => void,
) => grpc.ClientUnaryCall;

export class GrpcPushClient implements EndpointPublisher {
  private readonly clients: ReadonlyArray<{ target: string; client: grpc.Client }>;
  private readonly timeoutMs: number;

  constructor(private readonly options: PushClientOptions) {
    if (options.targets.length === 0) throw new TypeError('GrpcPushClient needs at least one target');
    const Service = endpointPushService();
    const credentials = options.tls ? grpc.credentials.createSsl(options.rootCerts) : grpc.credentials.createInsecure();
    this.clients = options.targets.map((target) => ({ target, client: new Service(target, credentials) }));
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  async publish(sets: readonly ServiceEndpointSet[], source: string): Promise<readonly RelayPushResult[]> {
    if (sets.length === 0) return [];
    const request = toWireRequest(sets, source);
    return Promise.all(this.clients.map(({ target, client }) => this.pushOne(target, client, request)));
  }

  private pushOne(target: string, client: grpc.Client, request: WirePushRequest): Promise<RelayPushResult> {
    const metadata = new grpc.Metadata();
    if (this.options.token) metadata.set('authorization', `Bearer ${this.options.token}`);
    const call = (client as unknown as Record<typeof PUSH_METHOD, UnaryCall>)[PUSH_METHOD].bind(client);
    return new Promise((resolve) => {
      call(request, metadata, { deadline: Date.now() + this.timeoutMs }, (error, response) => {
        if (error || !response) {
          const why = error ? `${grpc.status[error.code] ?? error.code}: ${error.details || error.message}` : 'empty response';
          resolve({ target, ok: false, error: why });
          return;
        }
        resolve({
          target,
          ok: true,
          services: response.results.map((r) => ({
            service: r.service,
            outcome: OUTCOME_FROM_WIRE[r.outcome] ?? 'accepted',
            currentIndex: r.currentIndex,
          })),
        });
      });
    });
  }

  close(): void {
    for (const { client } of this.clients) client.close();
  }
}
