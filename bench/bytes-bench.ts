/**
 * Delta vs SotW bytes (issue 12): an Envoy gateway (envoy-gateway profile) subscribed to a mesh of
 * 200 HTTP services with health checks — clusters and listeners as wildcards, every cluster's endpoints and every route
 * by name, as Envoy does — then ONE cluster changes (one service's health check path: its Cluster
 * resource changes, the other 199, the routes and the endpoints do not). Counts exactly the bytes of every response the relay sends for
 * the change on a SotW stream and on a Delta stream (the DiscoveryResponse messages as written,
 * gRPC framing not included), and the ratio Delta / SotW (goal ≤ 5 %).
 *
 *   node --import tsx bench/bytes-bench.ts [--services 200] [--endpoints 3]
 */
import { parseArgs } from 'node:util';
import type { GatewayRoute } from '../src/relay/mesh-state';
import { SnapshotStore } from '../src/relay/snapshot/snapshot-store';
import type { ResourceKind } from '../src/relay/xds/resource-kind';
import type { ServiceEndpointSet } from '../src/shared/endpoints';
import { nodeFor, startAdsTestServer, type DeltaReply, type RawDeltaStream, type RawSotwStream, type SotwReply } from '../test/helpers/raw-ads-client';
import { writeResults } from './results';

function service(i: number, endpoints: number, healthPath: string, index: number): ServiceEndpointSet {
  return {
    service: `svc-${String(i).padStart(3, '0')}`,
    consulIndex: index,
    protocol: 'http',
    healthPath,
    endpoints: Array.from({ length: endpoints }, (_, e) => ({
      address: `10.${Math.floor(i / 250)}.${i % 250}.${e + 1}`,
      port: 8080,
      zone: String((e % 3) + 1),
      health: 'passing' as const,
      weight: 1,
      instanceName: `svc-${i}_${e}`,
    })),
  };
}

type Reply = SotwReply | DeltaReply;

/** Reads and ACKs every response until `next` times out (the relay has sent all it will); returns what was read. */
async function drain(next: () => Promise<Reply>, ack: (reply: Reply) => void): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (;;) {
    let reply: Reply;
    try {
      reply = await next();
    } catch {
      return replies;
    }
    ack(reply);
    replies.push(reply);
  }
}

function byKind(replies: readonly Reply[]): Record<string, { responses: number; resources: number; bytes: number }> {
  const out: Record<string, { responses: number; resources: number; bytes: number }> = {};
  for (const r of replies) {
    const row = (out[r.kind] ??= { responses: 0, resources: 0, bytes: 0 });
    row.responses++;
    row.resources += r.resources.length;
    row.bytes += r.wireBytes;
  }
  return out;
}

const total = (replies: readonly Reply[]): number => replies.reduce((sum, r) => sum + r.wireBytes, 0);
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { services: { type: 'string', default: '200' }, endpoints: { type: 'string', default: '3' } } });
  const count = Number(values.services);
  const endpoints = Number(values.endpoints);
  const changed = Math.floor(count / 2);
  const routes: GatewayRoute[] = Array.from({ length: count }, (_, i) => ({ pathPrefix: `/svc-${String(i).padStart(3, '0')}`, service: `svc-${String(i).padStart(3, '0')}` }));
  const state = (healthPathOfChanged: string, index: number) => ({
    services: new Map(Array.from({ length: count }, (_, i) => service(i, endpoints, i === changed ? healthPathOfChanged : '/healthz', i === changed ? index : 1)).map((s) => [s.service, s])),
    gatewayRoutes: routes,
  });
  const store = new SnapshotStore();
  store.publish(state('/healthz', 1));
  store.markReady();
  const server = await startAdsTestServer(store, { minSendIntervalMs: 0 });
  const QUIET_MS = 500;
  try {
    const snapshot = store.current('envoy-gateway');
    const endpointNames = [...snapshot.resources.endpoint.keys()];
    const routeNames = [...snapshot.resources.route.keys()];

    const sotw: RawSotwStream = server.client().sotw(nodeFor('envoy-gateway', 'bench-sotw'));
    const delta: RawDeltaStream = server.client().delta(nodeFor('envoy-gateway', 'bench-delta'));
    const subscriptions: [ResourceKind, string[]][] = [
      ['cluster', []],
      ['listener', []],
      ['endpoint', endpointNames],
      ['route', routeNames],
    ];
    for (const [kind, names] of subscriptions) {
      sotw.send({ kind, names });
      delta.send({ kind, subscribe: names.length > 0 ? names : ['*'] });
    }
    const sotwAck = (r: Reply): void => sotw.ack(r as SotwReply, subscriptions.find(([k]) => k === r.kind)![1]);
    const deltaAck = (r: Reply): void => delta.ack(r as DeltaReply);
    const [sotwSetup, deltaSetup] = await Promise.all([drain(() => sotw.next(QUIET_MS), sotwAck), drain(() => delta.next(QUIET_MS), deltaAck)]);

    store.publish(state('/ready', 2)); // one cluster among `count` changes: its health check
    const [sotwChange, deltaChange] = await Promise.all([drain(() => sotw.next(QUIET_MS), sotwAck), drain(() => delta.next(QUIET_MS), deltaAck)]);

    const ratio = total(deltaChange) / total(sotwChange);
    console.log(`Delta vs SotW bytes: an Envoy gateway on ${count} services (${endpoints} endpoints each), one cluster changes (svc-${String(changed).padStart(3, '0')}: health check /healthz → /ready)`);
    console.log(`  setup:  SotW ${kb(total(sotwSetup))} in ${sotwSetup.length} responses, Delta ${kb(total(deltaSetup))} in ${deltaSetup.length}`);
    console.log(`  change: SotW ${total(sotwChange)} bytes ${JSON.stringify(byKind(sotwChange))}`);
    console.log(`          Delta ${total(deltaChange)} bytes ${JSON.stringify(byKind(deltaChange))}`);
    console.log(`  Delta / SotW for the change: ${(ratio * 100).toFixed(1)} % (goal ≤ 5 %)`);
    console.log(`written: ${writeResults('bytes', [
      {
        figure: `Delta vs SotW bytes, one cluster change among ${count} (gateway)`,
        goal: '≤ 5 %',
        measured: `${kb(total(deltaChange))} vs ${kb(total(sotwChange))} (${(ratio * 100).toFixed(1)} %)`,
        verdict: ratio <= 0.05 ? 'met' : 'missed',
        value: ratio * 100,
        unit: '%',
        details: { services: count, endpoints, sotw: byKind(sotwChange), delta: byKind(deltaChange), setup: { sotw: total(sotwSetup), delta: total(deltaSetup) } },
      },
    ])}`);
  } finally {
    await server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
