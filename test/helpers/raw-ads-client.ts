/**
 * A raw ADS client for protocol tests, built directly on Envoy's protos (not on the relay's own
 * encoder): it sends exactly the DiscoveryRequest / DeltaDiscoveryRequest a test writes and hands
 * back every response decoded, with each resource's name read from its decoded message.
 * Also starts an ADS server on 127.0.0.1:0 for a test.
 */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { createAdsService, type AdsService, type AdsServiceOptions } from '../../src/relay/ads/ads-service';
import { PROFILE_METADATA_KEY } from '../../src/relay/ads/profile';
import type { AdsHooks, StreamInfo } from '../../src/relay/ads/ads-hooks';
import type { SnapshotSource } from '../../src/relay/snapshot/snapshot-types';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { kindOfTypeUrl, TYPE_URLS } from '../../src/relay/xds/kinds';
import type { ResourceKind } from '../../src/relay/xds/resource-kind';
import { envoyType } from '../../src/relay/xds/envoy-protos';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
const NAME_FIELD: Readonly<Record<ResourceKind, string>> = { cluster: 'name', endpoint: 'cluster_name', listener: 'name', route: 'name' };
const MESSAGE_TYPES: Readonly<Record<ResourceKind, string>> = {
  cluster: 'envoy.config.cluster.v3.Cluster',
  endpoint: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'envoy.config.listener.v3.Listener',
  route: 'envoy.config.route.v3.RouteConfiguration',
};

export interface TestNode {
  readonly id: string;
  readonly cluster?: string;
  readonly user_agent_name?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A node that asks for a profile explicitly. */
export function nodeFor(profile: ClientProfile, id = `node-${profile}`): TestNode {
  return { id, cluster: 'test', user_agent_name: 'raw-ads-test', metadata: { [PROFILE_METADATA_KEY]: profile } };
}

function nodeMessage(node: TestNode): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node.metadata ?? {})) fields[key] = { stringValue: value }; // protobufjs's own google.protobuf.Value is camelCase
  return { id: node.id, cluster: node.cluster ?? '', user_agent_name: node.user_agent_name ?? '', metadata: { fields } };
}

export interface DecodedResource {
  readonly name: string;
  readonly typeUrl: string;
  /** The Any.value bytes as received. */
  readonly bytes: Uint8Array;
  /** Delta: Resource.version. */
  readonly version?: string;
  /** Delta: Resource.name. */
  readonly resourceName?: string;
}

export interface SotwReply {
  readonly kind: ResourceKind;
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly DecodedResource[];
  readonly names: readonly string[];
  readonly wireBytes: number;
}

export interface DeltaReply {
  readonly kind: ResourceKind;
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly DecodedResource[];
  readonly names: readonly string[];
  readonly removed: readonly string[];
  readonly wireBytes: number;
}

interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

function decodeAny(any: AnyMessage): { name: string; kind: ResourceKind } {
  const kind = kindOfTypeUrl(any.type_url);
  if (!kind) throw new Error(`unexpected resource type ${any.type_url}`);
  const message = envoyType(MESSAGE_TYPES[kind]).decode(any.value) as unknown as Record<string, unknown>;
  return { kind, name: String(message[NAME_FIELD[kind]]) };
}

function decodeSotwReply(buffer: Buffer): SotwReply {
  const type = envoyType('envoy.service.discovery.v3.DiscoveryResponse');
  const message = type.decode(buffer) as unknown as { version_info: string; type_url: string; nonce: string; resources: AnyMessage[] };
  const kind = kindOfTypeUrl(message.type_url);
  if (!kind) throw new Error(`unexpected response type ${message.type_url}`);
  const resources = message.resources.map((any) => {
    const decoded = decodeAny(any);
    if (decoded.kind !== kind) throw new Error(`a ${decoded.kind} in a ${kind} response`);
    return { name: decoded.name, typeUrl: any.type_url, bytes: any.value };
  });
  return {
    kind,
    versionInfo: message.version_info,
    typeUrl: message.type_url,
    nonce: message.nonce,
    resources,
    names: resources.map((r) => r.name),
    wireBytes: buffer.length,
  };
}

function decodeDeltaReply(buffer: Buffer): DeltaReply {
  const type = envoyType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const message = type.decode(buffer) as unknown as {
    system_version_info: string;
    type_url: string;
    nonce: string;
    resources: Array<{ name: string; version: string; resource: AnyMessage }>;
    removed_resources: string[];
  };
  const kind = kindOfTypeUrl(message.type_url);
  if (!kind) throw new Error(`unexpected response type ${message.type_url}`);
  const resources = message.resources.map((r) => {
    const decoded = decodeAny(r.resource);
    if (decoded.kind !== kind) throw new Error(`a ${decoded.kind} in a ${kind} response`);
    if (decoded.name !== r.name) throw new Error(`Resource.name ${r.name} wraps ${decoded.name}`);
    return { name: decoded.name, typeUrl: r.resource.type_url, bytes: r.resource.value, version: r.version, resourceName: r.name };
  });
  return {
    kind,
    systemVersionInfo: message.system_version_info,
    typeUrl: message.type_url,
    nonce: message.nonce,
    resources,
    names: resources.map((r) => r.name),
    removed: [...message.removed_resources],
    wireBytes: buffer.length,
  };
}

function encoder(typeName: string): (value: Record<string, unknown>) => Buffer {
  let type: protobuf.Type | undefined;
  return (value) => {
    type ??= envoyType(typeName);
    return Buffer.from(type.encode(type.fromObject(value)).finish());
  };
}

/** Replies in arrival order; `next` waits for the next one (bounded, so a broken test fails instead of hanging). */
class ReplyQueue<T> {
  readonly all: T[] = [];
  private readIndex = 0;
  private waiter: (() => void) | undefined;
  ended: grpc.StatusObject | undefined;

  push(reply: T): void {
    this.all.push(reply);
    this.waiter?.();
  }

  end(status: grpc.StatusObject): void {
    this.ended = status;
    this.waiter?.();
  }

  async next(timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.readIndex >= this.all.length) {
      if (this.ended) throw new Error(`stream ended (${this.ended.code} ${this.ended.details}) while a response was expected`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.all[this.readIndex++]!;
  }

  /** Replies received but not yet taken with `next`. */
  get unread(): number {
    return this.all.length - this.readIndex;
  }
}

abstract class RawStream<Reply, Request> {
  protected readonly replies = new ReplyQueue<Reply>();
  private readonly call: grpc.ClientDuplexStream<Request, Buffer>;
  private statusPromise: Promise<grpc.StatusObject>;

  constructor(client: grpc.Client, method: string, serialize: (request: Request) => Buffer, decode: (buffer: Buffer) => Reply) {
    this.call = client.makeBidiStreamRequest(`${SERVICE}/${method}`, serialize, (buffer: Buffer) => buffer);
    this.call.on('data', (buffer: Buffer) => this.replies.push(decode(buffer)));
    this.call.on('error', () => undefined); // the status below carries it
    this.statusPromise = new Promise((resolve) => {
      this.call.on('status', (status: grpc.StatusObject) => {
        this.replies.end(status);
        resolve(status);
      });
    });
  }

  protected write(request: Request): void {
    this.call.write(request);
  }

  /** The next response (fails the test after `timeoutMs`). */
  next(timeoutMs = 3000): Promise<Reply> {
    return this.replies.next(timeoutMs);
  }

  /** Every response received so far. */
  get received(): readonly Reply[] {
    return this.replies.all;
  }

  get unread(): number {
    return this.replies.unread;
  }

  /** The status the stream ended with, once it has. */
  get ended(): grpc.StatusObject | undefined {
    return this.replies.ended;
  }

  /** Resolves with the status when the server ends the stream. */
  status(): Promise<grpc.StatusObject> {
    return this.statusPromise;
  }

  cancel(): void {
    this.call.cancel();
  }

  /** Stops taking responses off the connection (HTTP/2 flow control then holds the server's writes). */
  pauseReading(): void {
    this.call.pause();
  }

  halfClose(): void {
    this.call.end();
  }
}

export interface SotwRequestInit {
  readonly kind: ResourceKind;
  readonly names?: readonly string[];
  readonly versionInfo?: string;
  readonly nonce?: string;
  readonly node?: TestNode;
  /** Sends the first request without a node (to test the server's refusal). */
  readonly omitNode?: boolean;
  readonly error?: string;
  /** Raw type URL instead of the kind's. */
  readonly typeUrl?: string;
}

export class RawSotwStream extends RawStream<SotwReply, Record<string, unknown>> {
  constructor(client: grpc.Client, private readonly node: TestNode) {
    super(client, 'StreamAggregatedResources', encoder('envoy.service.discovery.v3.DiscoveryRequest'), decodeSotwReply);
  }

  private sentNode = false;

  /** Sends a request; the node goes on the first request of the stream unless given. */
  send(init: SotwRequestInit): void {
    const node = init.omitNode ? undefined : (init.node ?? (this.sentNode ? undefined : this.node));
    this.sentNode = true;
    this.write({
      version_info: init.versionInfo ?? '',
      ...(node ? { node: nodeMessage(node) } : {}),
      resource_names: [...(init.names ?? [])],
      type_url: init.typeUrl ?? TYPE_URLS[init.kind],
      response_nonce: init.nonce ?? '',
      ...(init.error !== undefined ? { error_detail: { code: 3, message: init.error } } : {}),
    });
  }

  ack(reply: SotwReply, names: readonly string[]): void {
    this.send({ kind: reply.kind, names, versionInfo: reply.versionInfo, nonce: reply.nonce });
  }

  nack(reply: SotwReply, names: readonly string[], error: string, acceptedVersion = ''): void {
    this.send({ kind: reply.kind, names, versionInfo: acceptedVersion, nonce: reply.nonce, error });
  }
}

export interface DeltaRequestInit {
  readonly kind: ResourceKind;
  readonly subscribe?: readonly string[];
  readonly unsubscribe?: readonly string[];
  readonly initialVersions?: Readonly<Record<string, string>>;
  readonly nonce?: string;
  readonly node?: TestNode;
  readonly omitNode?: boolean;
  readonly error?: string;
}

export class RawDeltaStream extends RawStream<DeltaReply, Record<string, unknown>> {
  constructor(client: grpc.Client, private readonly node: TestNode) {
    super(client, 'DeltaAggregatedResources', encoder('envoy.service.discovery.v3.DeltaDiscoveryRequest'), decodeDeltaReply);
  }

  private sentNode = false;

  send(init: DeltaRequestInit): void {
    const node = init.omitNode ? undefined : (init.node ?? (this.sentNode ? undefined : this.node));
    this.sentNode = true;
    this.write({
      ...(node ? { node: nodeMessage(node) } : {}),
      type_url: TYPE_URLS[init.kind],
      resource_names_subscribe: [...(init.subscribe ?? [])],
      resource_names_unsubscribe: [...(init.unsubscribe ?? [])],
      initial_resource_versions: { ...(init.initialVersions ?? {}) },
      response_nonce: init.nonce ?? '',
      ...(init.error !== undefined ? { error_detail: { code: 3, message: init.error } } : {}),
    });
  }

  ack(reply: DeltaReply): void {
    this.send({ kind: reply.kind, nonce: reply.nonce });
  }

  nack(reply: DeltaReply, error: string): void {
    this.send({ kind: reply.kind, nonce: reply.nonce, error });
  }
}

export class RawAdsClient {
  private readonly client: grpc.Client;

  /** `options` are channel options (e.g. `grpc.use_local_subchannel_pool` for a connection of its own). */
  constructor(
    readonly address: string,
    options: grpc.ChannelOptions = {},
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
  }

  sotw(node: TestNode = nodeFor('proxyless-grpc')): RawSotwStream {
    return new RawSotwStream(this.client, node);
  }

  delta(node: TestNode = nodeFor('envoy-gateway')): RawDeltaStream {
    return new RawDeltaStream(this.client, node);
  }

  close(): void {
    this.client.close();
  }
}

export interface AdsTestServer {
  readonly address: string;
  readonly service: AdsService;
  readonly server: grpc.Server;
  /** A client on its own channel, closed with the server. */
  client(): RawAdsClient;
  close(): Promise<void>;
}

/** An ADS server on 127.0.0.1:0; `wrap` may replace the definition (e.g. to observe serialization). */
export async function startAdsTestServer(
  source: SnapshotSource,
  options: AdsServiceOptions = {},
  wrap?: (definition: grpc.ServiceDefinition) => grpc.ServiceDefinition,
): Promise<AdsTestServer> {
  const service = createAdsService(source, { minSendIntervalMs: 0, ...options });
  const server = new grpc.Server();
  server.addService(wrap ? wrap(service.definition) : service.definition, service.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  const address = `127.0.0.1:${port}`;
  const clients: RawAdsClient[] = [];
  return {
    address,
    service,
    server,
    client: () => {
      const client = new RawAdsClient(address);
      clients.push(client);
      return client;
    },
    close: async () => {
      service.closeAllStreams();
      for (const client of clients) client.close();
      await new Promise<void>((resolve) => {
        // Streams were ended above; a session that lingers must not hold the test open.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

export type HookEvent =
  | { readonly hook: 'open'; readonly streamId: number; readonly info: StreamInfo }
  | { readonly hook: 'request'; readonly streamId: number; readonly kind: ResourceKind; readonly outcome: string; readonly ackLatencyMs?: number; readonly error?: string }
  | { readonly hook: 'response'; readonly streamId: number; readonly kind: ResourceKind; readonly version: string; readonly count: number; readonly bytes: number; readonly at: number }
  | { readonly hook: 'closed'; readonly streamId: number; readonly reason: string };

/**
 * Records every hook call. The server calls hooks synchronously while it handles a request, so
 * once a test sees the hook of a request, every response that request caused is recorded too.
 */
export class HookRecorder implements AdsHooks {
  readonly events: HookEvent[] = [];

  onStreamOpen(stream: StreamInfo): void {
    this.events.push({ hook: 'open', streamId: stream.streamId, info: stream });
  }

  onRequest(stream: StreamInfo, kind: ResourceKind, outcome: string, ackLatencyMs?: number, error?: string): void {
    this.events.push({
      hook: 'request',
      streamId: stream.streamId,
      kind,
      outcome,
      ...(ackLatencyMs !== undefined ? { ackLatencyMs } : {}),
      ...(error !== undefined ? { error } : {}),
    });
  }

  onResponse(stream: StreamInfo, kind: ResourceKind, version: string, count: number, bytes: number): void {
    this.events.push({ hook: 'response', streamId: stream.streamId, kind, version, count, bytes, at: performance.now() });
  }

  onStreamClosed(stream: StreamInfo, reason: string): void {
    this.events.push({ hook: 'closed', streamId: stream.streamId, reason });
  }

  /** A position in the log, for `since`. */
  mark(): number {
    return this.events.length;
  }

  since(mark: number): HookEvent[] {
    return this.events.slice(mark);
  }

  requests(outcome?: string): Array<Extract<HookEvent, { hook: 'request' }>> {
    return this.events.filter((e): e is Extract<HookEvent, { hook: 'request' }> => e.hook === 'request' && (outcome === undefined || e.outcome === outcome));
  }

  responses(): Array<Extract<HookEvent, { hook: 'response' }>> {
    return this.events.filter((e): e is Extract<HookEvent, { hook: 'response' }> => e.hook === 'response');
  }
}

/** Waits until `condition` holds (checked on every timer tick); fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The status a stream ends with; rejects when it is still open after `ms`. */
export async function endedWithin(stream: { status(): Promise<grpc.StatusObject> }, ms = 10_000): Promise<grpc.StatusObject> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the stream is still open after ${ms} ms`)), ms)));
  try {
    return await Promise.race([stream.status(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
