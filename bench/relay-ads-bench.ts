/**
 * ADS fan-out benchmark (not a timed test, issue 12). For each stream count (default 1,000 and
 * 10,000): N SotW streams subscribed like proxyless gRPC clients to one service (listener, route,
 * cluster, endpoints), then rounds of one endpoint change each; a round's figure is the time from
 * the publish until each stream has ACKed the new endpoints (measured in the relay process from
 * its hooks). Before anything is measured the setup is settled: every stream has ACKed the
 * current version, nothing is unACKed and the relay has been quiet for a while.
 *
 * The grpc-js floor is measured in the same run: a bare grpc-js server (relay-floor-server.ts)
 * writes the same response bytes to the same streams, and the ratio relay / floor is the figure.
 *
 * The relay serves with its real limits (grpc options, connection limiter, stream limit) — only
 * connections per address is raised to what the bench opens, since all its clients come from
 * 127.0.0.1. The clients run in worker processes (relay-bench-clients.ts), several streams per
 * connection, so the relay's memory is measured alone and the clients' CPU is reported.
 *
 *   node --expose-gc --import tsx bench/relay-ads-bench.ts [--streams 1000,10000] [--endpoints 50]
 *     [--rounds 5] [--workers 2] [--per-connection 10]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { AdsHooks } from '../src/relay/ads/ads-hooks';
import { encodeSotwResponse } from '../src/relay/ads/ads-responses';
import { createAdsService } from '../src/relay/ads/ads-service';
import { ConnectionLimiter, connectionLimitInterceptor, listenLimited } from '../src/relay/limits/connection-limits';
import { DEFAULT_LIMITS, type RelayLimits } from '../src/relay/limits/limit-settings';
import { grpcServerOptions } from '../src/relay/relay';
import { SnapshotStore } from '../src/relay/snapshot/snapshot-store';
import { TYPE_URLS } from '../src/relay/xds/kinds';
import { type EncodedResource, RESOURCE_KINDS, type ResourceKind } from '../src/relay/xds/resource-kind';
import type { ServiceEndpointSet } from '../src/shared/endpoints';
import { ClientFleet } from './relay-bench-clients';
import { startFloorServer } from './relay-floor-server';
import { writeResults, type Figure } from './results';

const SERVICE = 'orders';
const NAMES = [SERVICE];
/** The relay's default VMSS_MESH_RELAY_MIN_SEND_INTERVAL_MS. */
const MIN_SEND_INTERVAL_MS = 20;
const QUIET_MS = 300;

function endpointSet(count: number, index: number): ServiceEndpointSet {
  return {
    service: SERVICE,
    consulIndex: index,
    protocol: 'grpc',
    endpoints: Array.from({ length: count }, (_, i) => ({
      address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      port: 8080,
      zone: String((i % 3) + 1),
      health: 'passing' as const,
      weight: 1,
      instanceName: `orders_${i}`,
    })),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

async function memory(): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed + usage.external + usage.arrayBuffers, rss: usage.rss };
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Waits until `done()` holds and nothing happened for QUIET_MS (polls; the bench's only clock use). */
async function settle(done: () => boolean, lastEventAt: () => number, what: string, timeoutMs = 300_000): Promise<void> {
  const started = performance.now();
  for (;;) {
    if (done() && performance.now() - lastEventAt() >= QUIET_MS) return;
    if (performance.now() - started > timeoutMs) throw new Error(`${what} did not settle within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Round {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly lastWriteMs: number;
  readonly bytesPerStream: number;
  readonly serverCpuMs: number;
  readonly clientCpuMs: number;
  readonly wallMs: number;
}

interface RunOptions {
  readonly streams: number;
  readonly endpoints: number;
  readonly rounds: number;
  readonly workers: number;
  readonly perConnection: number;
}

function summarize(ackMs: number[], extra: Omit<Round, 'p50' | 'p99' | 'max'>): Round {
  ackMs.sort((a, b) => a - b);
  return { p50: percentile(ackMs, 50), p99: percentile(ackMs, 99), max: ackMs[ackMs.length - 1]!, ...extra };
}

/** The resources of `kind` a stream subscribed to `names` is sent (SotW: listeners and clusters all). */
function resourcesFor(store: SnapshotStore, kind: ResourceKind): EncodedResource[] {
  const all = [...store.current('proxyless-grpc').resources[kind].values()];
  const named = all.filter((r) => NAMES.includes(r.name));
  return kind === 'listener' || kind === 'cluster' || named.length === 0 ? all : named;
}

function benchNonce(): string {
  return `floor.1.1.${randomBytes(12).toString('base64url')}`;
}

interface Phase {
  readonly connectMs: number;
  readonly heapPerStream?: number;
  readonly rssPerStream?: number;
  /** One endpoint change; `change` is what the floor writes (the relay publishes `r` and returns its bytes). */
  round(r: number, change?: Buffer): Promise<{ round: Round; change: Buffer }>;
  close(): Promise<void>;
}

async function startRelayPhase(options: RunOptions, limits: RelayLimits, store: SnapshotStore): Promise<Phase> {
  const sentEndpoint = new Map<number, string>();
  const ackedEndpoint = new Map<number, string>();
  let outstanding = 0;
  let lastEventAt = performance.now();
  let current: { version: string; startedAt: number; ackMs: number[]; bytes: number; lastWriteMs: number; done: () => void } | undefined;
  const hooks: AdsHooks = {
    onResponse: (stream, kind, version, _count, bytes) => {
      lastEventAt = performance.now();
      outstanding++;
      if (kind !== 'endpoint') return;
      sentEndpoint.set(stream.streamId, version);
      if (current) {
        // Inside a round only the change is sent (publish() may write before its version is known).
        current.bytes += bytes;
        current.lastWriteMs = lastEventAt - current.startedAt;
      }
    },
    onRequest: (stream, kind, outcome) => {
      lastEventAt = performance.now();
      if (outcome !== 'ack' && outcome !== 'nack') return;
      outstanding--;
      if (kind !== 'endpoint' || outcome !== 'ack') return;
      const version = sentEndpoint.get(stream.streamId)!;
      ackedEndpoint.set(stream.streamId, version);
      if (current && version === current.version) {
        current.ackMs.push(lastEventAt - current.startedAt);
        if (current.ackMs.length === options.streams) current.done();
      }
    },
  };
  const ads = createAdsService(store, {
    hooks,
    minSendIntervalMs: MIN_SEND_INTERVAL_MS,
    maxNodeBytes: limits.maxNodeBytes,
    maxSubscriptionBytes: limits.maxSubscriptionBytes,
    maxStreams: limits.maxStreams,
  });
  const connections = new ConnectionLimiter({ maxConnectionsPerPeer: limits.maxConnectionsPerPeer });
  const server = new grpc.Server({ ...grpcServerOptions(limits), interceptors: [connectionLimitInterceptor(connections)] });
  server.addService(ads.definition, ads.implementation);
  const listener = await listenLimited(server, connections, '127.0.0.1', 0);

  let version = store.current('proxyless-grpc').version;
  const allAckedCurrent = (): boolean => {
    if (ads.streamCount() !== options.streams || outstanding !== 0 || ackedEndpoint.size !== options.streams) return false;
    for (const v of ackedEndpoint.values()) if (v !== version) return false;
    return true;
  };
  const before = await memory();
  const connectStarted = performance.now();
  const fleet = await ClientFleet.start(`127.0.0.1:${listener.port}`, { streams: options.streams, perConnection: options.perConnection, workers: options.workers, names: NAMES });
  if (process.env.BENCH_DEBUG) console.log(`fleet ready after ${(performance.now() - connectStarted).toFixed(0)} ms, ${ads.streamCount()} streams, ${outstanding} outstanding`);
  await settle(allAckedCurrent, () => lastEventAt, 'relay setup');
  const connectMs = performance.now() - connectStarted - QUIET_MS;
  const after = await memory();

  const round = async (r: number): Promise<{ round: Round; change: Buffer }> => {
    const clientCpuBefore = await fleet.cpuMs();
    await settle(allAckedCurrent, () => lastEventAt, 'relay before a round');
    const serverCpuBefore = cpuMs();
    const acked = new Promise<void>((resolve) => {
      current = { version: '', startedAt: performance.now(), ackMs: [], bytes: 0, lastWriteMs: 0, done: resolve };
    });
    const measuring = current!;
    // The publish is part of what is measured: it builds the snapshot and starts the writes.
    const result = store.publish({ services: new Map([[SERVICE, endpointSet(options.endpoints + ((r + 1) % 2), 2 + r)]]), gatewayRoutes: [] });
    version = result.versions['proxyless-grpc'];
    measuring.version = version; // ACKs arrive later, on their own turns
    await acked;
    const wallMs = performance.now() - measuring.startedAt;
    const serverCpuMs = cpuMs() - serverCpuBefore;
    current = undefined;
    await settle(allAckedCurrent, () => lastEventAt, 'relay after a round');
    const clientCpuMs = (await fleet.cpuMs()) - clientCpuBefore;
    return {
      round: summarize(measuring.ackMs, { lastWriteMs: measuring.lastWriteMs, bytesPerStream: measuring.bytes / options.streams, serverCpuMs, clientCpuMs, wallMs }),
      change: encodeSotwResponse({ kind: 'endpoint', versionInfo: version, nonce: benchNonce(), resources: resourcesFor(store, 'endpoint') }),
    };
  };
  const close = async (): Promise<void> => {
    await fleet.close();
    ads.closeAllStreams();
    server.forceShutdown();
    listener.destroyConnections();
    await listener.close();
  };
  return { connectMs, heapPerStream: (after.heap - before.heap) / options.streams, rssPerStream: (after.rss - before.rss) / options.streams, round, close };
}

async function startFloorPhase(options: RunOptions, limits: RelayLimits, store: SnapshotStore): Promise<Phase> {
  const initial = new Map<string, Buffer>(
    RESOURCE_KINDS.map((kind) => [TYPE_URLS[kind], encodeSotwResponse({ kind, versionInfo: store.current('proxyless-grpc').version, nonce: benchNonce(), resources: resourcesFor(store, kind) })]),
  );
  const floor = await startFloorServer(grpcServerOptions(limits), initial);
  const connectStarted = performance.now();
  const fleet = await ClientFleet.start(`127.0.0.1:${floor.port}`, { streams: options.streams, perConnection: options.perConnection, workers: options.workers, names: NAMES });
  const settled = (): boolean => floor.streams() === options.streams && floor.outstanding() === 0;
  await settle(settled, floor.lastEventAt, 'floor setup');
  const connectMs = performance.now() - connectStarted - QUIET_MS;
  const round = async (_r: number, change?: Buffer): Promise<{ round: Round; change: Buffer }> => {
    if (!change) throw new Error('the floor writes the relay\'s bytes');
    const clientCpuBefore = await fleet.cpuMs();
    await settle(settled, floor.lastEventAt, 'floor before a round');
    const serverCpuBefore = cpuMs();
    const startedAt = performance.now();
    const { ackMs, lastWriteMs, bytes } = await floor.broadcast(change, envelopeNonce(change));
    const wallMs = performance.now() - startedAt;
    const serverCpuMs = cpuMs() - serverCpuBefore;
    await settle(settled, floor.lastEventAt, 'floor after a round');
    const clientCpuMs = (await fleet.cpuMs()) - clientCpuBefore;
    return { round: summarize(ackMs, { lastWriteMs, bytesPerStream: bytes / options.streams, serverCpuMs, clientCpuMs, wallMs }), change };
  };
  const close = async (): Promise<void> => {
    await fleet.close();
    floor.close();
  };
  return { connectMs, round, close };
}

/** The nonce written in a response we encoded (field 5 is its last field). */
function envelopeNonce(response: Buffer): string {
  const match = /floor\.1\.1\.[A-Za-z0-9_-]{16}$/.exec(response.toString('latin1'));
  if (!match) throw new Error('bench response without its nonce');
  return match[0];
}

/** BENCH_PROFILE=<file>: a CPU profile of the relay rounds only (node:inspector). */
async function startProfiler(): Promise<{ resume(): Promise<void>; pause(): Promise<void>; stop(file: string): Promise<void> }> {
  const inspector = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  const profiles: unknown[] = [];
  return {
    resume: async () => {
      await session.post('Profiler.start');
    },
    pause: async () => {
      profiles.push((await session.post('Profiler.stop')).profile);
    },
    stop: async (file) => {
      profiles.forEach((profile, i) => writeFileSync(`${file}.${i}.cpuprofile`, JSON.stringify(profile)));
      session.disconnect();
    },
  };
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

async function runOne(options: RunOptions, figures: Figure[]): Promise<void> {
  const connectionsNeeded = Math.ceil(options.streams / options.perConnection);
  const limits: RelayLimits = { ...DEFAULT_LIMITS, maxConnectionsPerPeer: Math.max(DEFAULT_LIMITS.maxConnectionsPerPeer, connectionsNeeded) };
  if (options.streams > limits.maxStreams) throw new Error(`${options.streams} streams exceed the relay's VMSS_MESH_RELAY_MAX_STREAMS ${limits.maxStreams}`);
  if (options.perConnection > limits.maxStreamsPerConnection) throw new Error(`--per-connection ${options.perConnection} exceeds VMSS_MESH_RELAY_MAX_STREAMS_PER_CONNECTION ${limits.maxStreamsPerConnection}`);
  const store = new SnapshotStore();
  store.publish({ services: new Map([[SERVICE, endpointSet(options.endpoints, 1)]]), gatewayRoutes: [] });
  store.markReady();

  // Both sets of streams are up at once and the rounds alternate (relay, floor, relay, ...), so the
  // machine's load varies alike for both. The relay's memory is measured before the floor starts.
  const relayPhase = await startRelayPhase(options, limits, store);
  const floorPhase = await startFloorPhase(options, limits, store);
  const relay = { connectMs: relayPhase.connectMs, heapPerStream: relayPhase.heapPerStream, rssPerStream: relayPhase.rssPerStream, rounds: [] as Round[] };
  const floor = { connectMs: floorPhase.connectMs, rounds: [] as Round[] };
  // One unmeasured round each first: the first change through 10,000 streams also pays for JIT.
  const warmUp = await relayPhase.round(0);
  await floorPhase.round(0, warmUp.change);
  const profiler = process.env.BENCH_PROFILE ? await startProfiler() : undefined;
  for (let r = 1; r <= options.rounds; r++) {
    await profiler?.resume();
    const fromRelay = await relayPhase.round(r);
    await profiler?.pause();
    relay.rounds.push(fromRelay.round);
    floor.rounds.push((await floorPhase.round(r, fromRelay.change)).round);
  }
  await profiler?.stop(process.env.BENCH_PROFILE!);
  await relayPhase.close();
  await floorPhase.close();
  const relayP99 = median(relay.rounds.map((r) => r.p99));
  const floorP99 = median(floor.rounds.map((r) => r.p99));
  const ratio = relayP99 / floorP99;
  const s = options.streams.toLocaleString('en-US');

  console.log(`\nADS fan-out: ${s} SotW streams on ${connectionsNeeded} connections from ${Math.min(options.workers, connectionsNeeded)} client processes, 1 service with ${options.endpoints} endpoints, ${options.rounds} rounds of one endpoint change (after one unmeasured round)`);
  console.log(`  relay: setup settled in ${(relay.connectMs / 1000).toFixed(1)} s; memory per stream ${kib(relay.heapPerStream!)} heap+buffers, ${kib(relay.rssPerStream!)} RSS`);
  console.log(`  floor: setup settled in ${(floor.connectMs / 1000).toFixed(1)} s`);
  console.log('  round  server  p50       p99       max       last write  bytes/stream  server CPU  clients CPU  wall');
  for (const [name, phase] of [['relay', relay], ['floor', floor]] as const) {
    phase.rounds.forEach((r, i) =>
      console.log(
        `  ${String(i + 1).padEnd(5)}  ${name}   ${ms(r.p50).padEnd(9)} ${ms(r.p99).padEnd(9)} ${ms(r.max).padEnd(9)} ${ms(r.lastWriteMs).padEnd(11)} ${r.bytesPerStream.toFixed(0).padEnd(13)} ${ms(r.serverCpuMs).padEnd(11)} ${ms(r.clientCpuMs).padEnd(12)} ${ms(r.wallMs)}`,
      ),
    );
  }
  console.log(`  median p99: relay ${ms(relayP99)}, grpc-js floor ${ms(floorP99)} → ${ratio.toFixed(2)}× the floor`);
  const clientShare = median(relay.rounds.map((r) => r.clientCpuMs / r.wallMs / Math.min(options.workers, connectionsNeeded)));
  console.log(`  clients: ${(clientShare * 100).toFixed(0)} % of one core per worker during a relay round (near 100 % = the clients are the bottleneck)`);

  const details = { streams: options.streams, connections: connectionsNeeded, workers: Math.min(options.workers, connectionsNeeded), endpoints: options.endpoints, relay, floor, ratio, clientCpuShare: clientShare };
  figures.push({
    figure: `Relay fan-out, ${s} SotW streams, one endpoint change → all ACKed: p99 vs grpc-js floor`,
    goal: '≤ 1.3× the floor (same run)',
    measured: `${ratio.toFixed(2)}× (relay p99 ${relayP99.toFixed(0)} ms, floor ${floorP99.toFixed(0)} ms; median of ${options.rounds})`,
    verdict: ratio <= 1.3 ? 'met' : 'missed',
    value: ratio,
    unit: '×',
    details,
  });
  if (options.streams >= 10_000) {
    figures.push({
      figure: `Relay fan-out, ${s} SotW streams on one relay: all ACKed p99`,
      goal: '≤ 1 s',
      measured: `${relayP99.toFixed(0)} ms (median of ${options.rounds}; max ${median(relay.rounds.map((r) => r.max)).toFixed(0)} ms)`,
      verdict: relayP99 <= 1000 ? 'met' : 'missed',
      value: relayP99,
      unit: 'ms',
    });
    const rssKb = relay.rssPerStream! / 1000;
    figures.push({
      figure: `Relay memory per stream at ${s} streams (RSS, after GC)`,
      goal: '≤ 40 KB',
      measured: `${rssKb.toFixed(1)} KB RSS (${(relay.heapPerStream! / 1000).toFixed(1)} KB heap+buffers)`,
      verdict: rssKb <= 40 ? 'met' : 'missed',
      value: rssKb,
      unit: 'KB',
    });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      streams: { type: 'string', default: '1000,10000' },
      endpoints: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '5' },
      workers: { type: 'string', default: '2' },
      'per-connection': { type: 'string', default: '10' },
    },
  });
  const whole = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`--${name} must be a whole number ≥ 1, got ${text}`);
    return n;
  };
  const figures: Figure[] = [];
  for (const streams of values.streams.split(',').map((s) => whole('streams', s))) {
    await runOne(
      { streams, endpoints: whole('endpoints', values.endpoints), rounds: whole('rounds', values.rounds), workers: whole('workers', values.workers), perConnection: whole('per-connection', values['per-connection']) },
      figures,
    );
  }
  console.log(`\nwritten: ${writeResults('relay', figures)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
