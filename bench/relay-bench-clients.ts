/**
 * Bench clients for the ADS fan-out benches: child processes ("workers") that each open a share
 * of the SotW streams, `perConnection` streams per HTTP/2 connection, subscribe like a proxyless
 * gRPC client to one service (listener, route, cluster, endpoints) and ACK every response.
 *
 * Lean on purpose so the clients are not what is measured: a response is decoded only as far as
 * its envelope (version, type URL, nonce; by hand, the resources are skipped) and the ACK is
 * encoded by hand from that (the first requests, with the node, by protobufjs). Each worker reports its CPU time on request, so a bench can say whether the
 * clients were the bottleneck.
 *
 *   parent: const fleet = await ClientFleet.start(address, { streams, perConnection, workers })
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import type { Type } from 'protobufjs';
import { envoyType } from '../src/relay/xds/envoy-protos';
import { TYPE_URLS } from '../src/relay/xds/kinds';
import { RESOURCE_KINDS, type ResourceKind } from '../src/relay/xds/resource-kind';

const METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
/** Kinds in the order a proxyless gRPC client asks for them. */
const SUBSCRIBE: readonly ResourceKind[] = ['listener', 'route', 'cluster', 'endpoint'];

export interface FleetOptions {
  readonly streams: number;
  readonly perConnection: number;
  readonly workers: number;
  /** Names subscribed for every kind. */
  readonly names: readonly string[];
  /**
   * Told of every endpoint response a stream receives (and ACKs at once): the stream's index, the
   * response's version and when it arrived (performance.timeOrigin + performance.now(), in ms:
   * comparable across processes on one machine).
   */
  readonly onEndpoints?: (stream: number, version: string, atMs: number) => void;
}

type ToWorker = { type: 'cpu' } | { type: 'exit' };
type FromWorker =
  | { type: 'ready'; streams: number; connections: number }
  | { type: 'cpu'; ms: number }
  | { type: 'endpoints'; stream: number; version: string; at: number }
  | { type: 'error'; message: string };

/** The parent's handle on the client workers. */
export class ClientFleet {
  private constructor(
    private readonly children: readonly ChildProcess[],
    readonly connections: number,
  ) {}

  /** Forks the workers; resolves once every stream has received its first endpoints. */
  static async start(address: string, options: FleetOptions): Promise<ClientFleet> {
    const workers = Math.max(1, Math.min(options.workers, Math.ceil(options.streams / options.perConnection)));
    const children: ChildProcess[] = [];
    const ready: Promise<number>[] = [];
    let first = 0;
    for (let w = 0; w < workers; w++) {
      // Whole connections per worker, so no connection is split between two processes.
      const connectionsLeft = Math.ceil((options.streams - first) / options.perConnection);
      const share = Math.min(options.streams - first, Math.ceil(connectionsLeft / (workers - w)) * options.perConnection);
      const child = fork(__filename, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, BENCH_CLIENT: JSON.stringify({ address, first, streams: share, perConnection: options.perConnection, names: options.names, report: options.onEndpoints !== undefined }) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      first += share;
      const onEndpoints = options.onEndpoints;
      if (onEndpoints) child.on('message', (message: FromWorker) => message.type === 'endpoints' && onEndpoints(message.stream, message.version, message.at));
      ready.push(
        new Promise<number>((resolve, reject) => {
          const onMessage = (message: FromWorker): void => {
            if (message.type === 'ready') {
              child.off('message', onMessage);
              resolve(message.connections);
            } else if (message.type === 'error') reject(new Error(message.message));
          };
          child.on('message', onMessage);
          child.once('exit', (code) => reject(new Error(`bench client worker exited with ${code}`)));
        }),
      );
    }
    const connections = (await Promise.all(ready)).reduce((a, b) => a + b, 0);
    return new ClientFleet(children, connections);
  }

  get workers(): number {
    return this.children.length;
  }

  /** CPU time (user + system) the workers have used so far, in ms, summed. */
  async cpuMs(): Promise<number> {
    const each = await Promise.all(
      this.children.map(
        (child) =>
          new Promise<number>((resolve) => {
            const onMessage = (message: FromWorker): void => {
              if (message.type !== 'cpu') return;
              child.off('message', onMessage);
              resolve(message.ms);
            };
            child.on('message', onMessage);
            child.send({ type: 'cpu' } satisfies ToWorker);
          }),
      ),
    );
    return each.reduce((a, b) => a + b, 0);
  }

  /** Ends the workers (their connections close with them). */
  async close(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.removeAllListeners('exit');
            child.once('exit', () => resolve());
            child.send({ type: 'exit' } satisfies ToWorker);
          }),
      ),
    );
  }
}

interface WorkerPlan {
  readonly address: string;
  readonly first: number;
  readonly streams: number;
  readonly perConnection: number;
  readonly names: readonly string[];
  readonly report: boolean;
}

interface ResponseEnvelope {
  version_info: string;
  type_url: string;
  nonce: string;
}

/** Reads a base-128 varint at `at`; returns [value, next offset]. */
function varint(buffer: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buffer[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
}

/**
 * DiscoveryResponse's version_info (1), type_url (4) and nonce (5), skipping the resources: the
 * clients must cost little next to the server they load (protobufjs decoded every Any too).
 */
function decodeEnvelope(buffer: Buffer): ResponseEnvelope {
  const out: ResponseEnvelope = { version_info: '', type_url: '', nonce: '' };
  let at = 0;
  while (at < buffer.length) {
    let tag: number;
    [tag, at] = varint(buffer, at);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      [, at] = varint(buffer, at);
      continue;
    }
    if (wire !== 2) throw new Error(`unexpected wire type ${wire} in a DiscoveryResponse`);
    let length: number;
    [length, at] = varint(buffer, at);
    if (field === 1) out.version_info = buffer.toString('utf8', at, at + length);
    else if (field === 4) out.type_url = buffer.toString('utf8', at, at + length);
    else if (field === 5) out.nonce = buffer.toString('utf8', at, at + length);
    at += length;
  }
  return out;
}

function lengthDelimited(field: number, text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const header: number[] = [(field << 3) | 2];
  for (let n = bytes.length; ; n = Math.floor(n / 128)) {
    if (n < 0x80) {
      header.push(n);
      break;
    }
    header.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from(header), bytes]);
}

/** The ACK: DiscoveryRequest version_info (1), resource_names (3), type_url (4), response_nonce (5). */
function encodeAck(reply: ResponseEnvelope, names: readonly string[]): Buffer {
  return Buffer.concat([
    lengthDelimited(1, reply.version_info),
    ...names.map((name) => lengthDelimited(3, name)),
    lengthDelimited(4, reply.type_url),
    lengthDelimited(5, reply.nonce),
  ]);
}

function runWorker(plan: WorkerPlan): void {
  const requestType: Type = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  const encode = (value: Record<string, unknown>): Buffer => Buffer.from(requestType.encode(requestType.fromObject(value)).finish());
  const kindOf = new Map(RESOURCE_KINDS.map((kind) => [TYPE_URLS[kind], kind]));
  const clients: grpc.Client[] = [];
  let withEndpoints = 0;
  let client: grpc.Client | undefined;
  for (let i = 0; i < plan.streams; i++) {
    if (i % plan.perConnection === 0) {
      client = new grpc.Client(plan.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      clients.push(client);
    }
    const call = client!.makeBidiStreamRequest(METHOD, (b: Buffer) => b, (b: Buffer) => b);
    const node = { id: `bench-${plan.first + i}`, cluster: 'bench', user_agent_name: 'gRPC Node Pure JS' };
    SUBSCRIBE.forEach((kind, k) => call.write(encode({ ...(k === 0 ? { node } : {}), type_url: TYPE_URLS[kind], resource_names: plan.names })));
    let gotEndpoints = false;
    const index = plan.first + i;
    call.on('data', (buffer: Buffer) => {
      const reply = decodeEnvelope(buffer);
      call.write(encodeAck(reply, plan.names));
      if (plan.report && kindOf.get(reply.type_url) === 'endpoint') {
        process.send!({ type: 'endpoints', stream: index, version: reply.version_info, at: performance.timeOrigin + performance.now() } satisfies FromWorker);
      }
      if (kindOf.get(reply.type_url) === 'endpoint' && !gotEndpoints) {
        gotEndpoints = true;
        if (++withEndpoints === plan.streams) process.send!({ type: 'ready', streams: plan.streams, connections: clients.length } satisfies FromWorker);
      }
    });
    call.on('error', () => undefined); // ends when the bench closes the server or this worker
  }
  process.on('message', (message: ToWorker) => {
    if (message.type === 'cpu') {
      const usage = process.cpuUsage();
      process.send!({ type: 'cpu', ms: (usage.user + usage.system) / 1000 } satisfies FromWorker);
    } else if (message.type === 'exit') {
      for (const c of clients) c.close();
      process.exit(0);
    }
  });
}

if (process.env.BENCH_CLIENT) {
  try {
    runWorker(JSON.parse(process.env.BENCH_CLIENT) as WorkerPlan);
  } catch (error) {
    process.send?.({ type: 'error', message: String(error) } satisfies FromWorker);
    process.exit(1);
  }
}
