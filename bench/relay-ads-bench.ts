/**
 * ADS fan-out benchmark (not a timed test): N concurrent SotW streams (default 1,000, each on its
 * own connection, subscribed like a proxyless gRPC client to one service's listener, route,
 * cluster and endpoints) and one endpoint change. Prints p50/p99/max time from the publish until
 * each stream has ACKed the new endpoints (measured in the relay process from its hooks), the
 * bytes sent, and the relay process's memory per stream.
 *
 *   node --expose-gc --import tsx bench/relay-ads-bench.ts [--streams 1000] [--endpoints 50]
 *
 * The clients run in a child process so the relay's memory is measured alone.
 */
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { AdsHooks } from '../src/relay/ads/ads-hooks';
import { createAdsService } from '../src/relay/ads/ads-service';
import { SnapshotStore } from '../src/relay/snapshot/snapshot-store';
import type { ServiceEndpointSet } from '../src/shared/endpoints';
import { RawAdsClient, type SotwReply } from '../test/helpers/raw-ads-client';

const SERVICE = 'orders';

interface ChildReport {
  readonly type: 'ready' | 'error';
  readonly message?: string;
}

/** Child: opens the streams, ACKs every response, reports once all have their first endpoints. */
async function runClients(address: string, streams: number): Promise<void> {
  let settled = 0;
  const clients: RawAdsClient[] = [];
  for (let i = 0; i < streams; i++) {
    const client = new RawAdsClient(address, { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(client);
    const stream = client.sotw({ id: `bench-${i}`, user_agent_name: 'gRPC Node Pure JS' });
    for (const kind of ['listener', 'route', 'cluster', 'endpoint'] as const) stream.send({ kind, names: [SERVICE] });
    let gotEndpoints = false;
    const loop = async (): Promise<void> => {
      for (;;) {
        let reply: SotwReply;
        try {
          reply = await stream.next(600_000);
        } catch {
          return; // stream over
        }
        stream.ack(reply, [SERVICE]);
        if (reply.kind === 'endpoint' && !gotEndpoints) {
          gotEndpoints = true;
          if (++settled === streams) process.send!({ type: 'ready' } satisfies ChildReport);
        }
      }
    };
    void loop();
  }
  process.on('message', (message) => {
    if (message === 'exit') {
      for (const client of clients) client.close();
      process.exit(0);
    }
  });
}

function endpointSet(count: number, index: number, portBase: number): ServiceEndpointSet {
  return {
    service: SERVICE,
    consulIndex: index,
    protocol: 'grpc',
    endpoints: Array.from({ length: count }, (_, i) => ({
      address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      port: portBase,
      zone: String((i % 3) + 1),
      health: 'passing' as const,
      weight: 1,
      instanceName: `orders_${i}`,
    })),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function memory(): { heap: number; rss: number } {
  global.gc?.();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed + usage.external + usage.arrayBuffers, rss: usage.rss };
}

async function runRelay(streams: number, endpoints: number): Promise<void> {
  const store = new SnapshotStore();
  store.publish({ services: new Map([[SERVICE, endpointSet(endpoints, 1, 8080)]]), gatewayRoutes: [] });
  store.markReady();

  let changeVersion = '';
  let publishedAt = 0;
  const ackTimes: number[] = [];
  let changeBytes = 0;
  let changeResponses = 0;
  let initialBytes = 0;
  let lastSentMs = 0;
  let allAcked: () => void = () => undefined;
  const acked = new Promise<void>((resolve) => (allAcked = resolve));
  const inFlightVersion = new Map<number, string>();
  const hooks: AdsHooks = {
    onResponse: (stream, kind, version, _count, bytes) => {
      if (changeVersion === '') initialBytes += bytes;
      else {
        changeBytes += bytes;
        changeResponses++;
        lastSentMs = performance.now() - publishedAt;
      }
      if (kind === 'endpoint') inFlightVersion.set(stream.streamId, version);
    },
    onRequest: (stream, kind, outcome) => {
      if (kind !== 'endpoint' || outcome !== 'ack' || changeVersion === '') return;
      if (inFlightVersion.get(stream.streamId) !== changeVersion) return;
      ackTimes.push(performance.now() - publishedAt);
      if (ackTimes.length === streams) allAcked();
    },
  };
  const ads = createAdsService(store, { hooks, minSendIntervalMs: 50 });
  const server = new grpc.Server();
  server.addService(ads.definition, ads.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );

  const before = memory();
  const child = fork(__filename, ['--clients', `127.0.0.1:${port}`, '--streams', String(streams)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const connectStarted = performance.now();
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: ChildReport) => (message.type === 'ready' ? resolve() : reject(new Error(message.message))));
    child.on('exit', (code) => reject(new Error(`clients exited with ${code}`)));
  });
  const connectMs = performance.now() - connectStarted;
  const after = memory();

  const result = store.publish({ services: new Map([[SERVICE, endpointSet(endpoints + 1, 2, 8080)]]), gatewayRoutes: [] });
  changeVersion = result.versions['proxyless-grpc'];
  publishedAt = performance.now();
  await acked;

  ackTimes.sort((a, b) => a - b);
  const perStream = (n: number): string => `${((n / streams) / 1024).toFixed(1)} KiB`;
  console.log(`ADS fan-out: ${streams} SotW streams, 1 service with ${endpoints} -> ${endpoints + 1} endpoints`);
  console.log(`  all streams configured in       ${connectMs.toFixed(0)} ms (${initialBytes} bytes sent)`);
  console.log(`  endpoint change ACKed by all:   p50 ${percentile(ackTimes, 50).toFixed(1)} ms, p99 ${percentile(ackTimes, 99).toFixed(1)} ms, max ${ackTimes[ackTimes.length - 1]!.toFixed(1)} ms`);
  console.log(`  last response written after:    ${lastSentMs.toFixed(1)} ms (the rest is the clients reading and ACKing)`);
  console.log(`  bytes sent for the change:      ${changeBytes} in ${changeResponses} responses (${(changeBytes / streams).toFixed(0)} per stream)`);
  console.log(`  relay memory per stream:        ${perStream(after.heap - before.heap)} heap+buffers, ${perStream(after.rss - before.rss)} RSS${global.gc ? '' : ' (run with --expose-gc for steadier figures)'}`);

  child.send('exit');
  ads.closeAllStreams();
  server.forceShutdown();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { streams: { type: 'string', default: '1000' }, endpoints: { type: 'string', default: '50' }, clients: { type: 'string' } },
  });
  const streams = Number(values.streams);
  const endpoints = Number(values.endpoints);
  if (!Number.isInteger(streams) || streams < 1 || !Number.isInteger(endpoints) || endpoints < 1) {
    throw new TypeError(`--streams and --endpoints must be whole numbers ≥ 1, got ${values.streams} and ${values.endpoints}`);
  }
  if (values.clients) await runClients(values.clients, streams);
  else await runRelay(streams, endpoints);
}

main().catch((error: unknown) => {
  if (process.send) process.send({ type: 'error', message: String(error) } satisfies ChildReport);
  console.error(error);
  process.exit(1);
});
