/**
 * The composed relay (startRelay) seen from its admin server: readiness that waits for Consul,
 * metrics fed by every part (ADS streams, pushes, the Consul watch, publishes), the debug views,
 * and graceful shutdown. Consul is the double; data is written by the real registry.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { startRelay, type Relay } from '../../src/relay/relay';
import type { ClientStatus } from '../../src/relay/ads/ads-hooks';
import type { ConsulDoubleOptions } from '../../src/sandbox/consul-double';
import { desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';
import { RawAdsClient, nodeFor } from '../helpers/raw-ads-client';
import { endpoint, endpointSet, until } from '../helpers/relay-inputs';

const TOKEN = 'admin-test-token';

async function startWorld(t: TestContext, consulOptions: ConsulDoubleOptions = {}, env: Record<string, string> = {}) {
  const consul = await startDouble(t, consulOptions);
  const registry = registryFor(t, consul.url);
  const set = scaleSetId(`web-${uniqueSuffix()}`);
  const session = await registry.beginReconcile(set, 1_000);
  await session.apply(localPlan(set, [desiredNode(set, { name: 'web_0', ip: '10.0.0.1', zone: '1', services: [{ name: 'web', port: 8080 }] })], session));
  const config = loadRelayConfig({
    VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_TOKEN: TOKEN,
    CONSUL_HTTP_ADDR: consul.url,
    VMSS_MESH_RELAY_COALESCE_MS: '5',
    VMSS_MESH_RELAY_MIN_SEND_INTERVAL_MS: '0',
    VMSS_MESH_RELAY_SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const relay = await startRelay(config, { log: pino({ level: 'silent' }) });
  t.after(() => relay.close());
  return { consul, relay };
}

async function get(relay: Relay, path: string, method = 'GET'): Promise<{ status: number; type: string; text: string; json: () => unknown }> {
  const res = await fetch(`${relay.adminUrl}${path}`, { method });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as unknown };
}

/** The value of one series in the text exposition (labels exactly as written), or undefined. */
function series(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Resolves when the relay's snapshots satisfy `predicate` (re-checked on each change). */
function snapshotsUntil(relay: Relay, predicate: () => boolean, what: string): Promise<void> {
  return until(predicate, (wake) => relay.snapshots.onChange(wake), 5_000, what);
}

describe('relay admin server', { concurrency: true, timeout: 30_000 }, () => {
  test('/readyz is 503 until the first Consul load is served, then 200; /healthz is 200 throughout', async (t) => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let heldOnce = false;
    const { relay } = await startWorld(t, {
      beforeRequest: async (info) => {
        if (info.path === '/v1/catalog/services' && !heldOnce) {
          heldOnce = true;
          await held;
        }
      },
    });
    const before = await get(relay, '/readyz');
    assert.equal(before.status, 503);
    assert.deepEqual(before.json(), { ready: false, reason: 'loading the mesh from Consul' });
    assert.equal((await get(relay, '/healthz')).status, 200);
    const metricsBefore = (await get(relay, '/metrics')).text;
    assert.equal(series(metricsBefore, 'vmss_mesh_relay_ready'), 0);
    assert.equal(series(metricsBefore, 'vmss_mesh_relay_consul_watch_state', 'state="loading"'), 1);
    assert.equal(relay.isReady(), false);

    release();
    await relay.ready;
    const after = await get(relay, '/readyz');
    assert.equal(after.status, 200);
    assert.deepEqual(after.json(), { ready: true });
    const metrics = (await get(relay, '/metrics')).text;
    assert.equal(series(metrics, 'vmss_mesh_relay_ready'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_consul_watch_state', 'state="watching"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_consul_watch_state', 'state="loading"'), 0);
    assert.equal(series(metrics, 'vmss_mesh_relay_mesh_services'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_mesh_endpoints'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_mesh_publishes_total'), 1);
    assert.ok((series(metrics, 'vmss_mesh_relay_consul_watch_index') ?? 0) > 0);
    assert.ok(metrics.includes('\nprocess_resident_memory_bytes '), 'process metrics are exported too');
  });

  test('xDS streams, versions sent, ACK latency and NACKs show in /metrics and /debug/clients', async (t) => {
    const { relay } = await startWorld(t);
    await relay.ready;
    const client = new RawAdsClient(relay.xdsAddress);
    t.after(() => client.close());
    const stream = client.sotw(nodeFor('proxyless-grpc', 'client-1'));
    t.after(() => stream.cancel());
    stream.send({ kind: 'listener', names: ['web'] });
    const listeners = await stream.next();
    assert.deepEqual(listeners.names, ['web']);
    stream.ack(listeners, ['web']);
    stream.send({ kind: 'cluster', names: ['web'] });
    const clusters = await stream.next();
    stream.nack(clusters, ['web'], 'cluster web: unsupported lb policy', '');

    const clientsSeen = async () => ((await get(relay, '/debug/clients')).json() as { clients: ClientStatus[] }).clients;
    await until(() => relay.ads.clients()[0]?.lastNack !== undefined, (wake) => {
      const timer = setInterval(wake, 5);
      return () => clearInterval(timer);
    }, 5_000, 'the NACK to reach the stream state');
    const [status] = await clientsSeen();
    assert.equal(status?.nodeId, 'client-1');
    assert.equal(status?.profile, 'proxyless-grpc');
    assert.equal(status?.mode, 'sotw');
    assert.deepEqual(status?.subscriptions.listener, ['web']);
    assert.equal(status?.lastAckedVersion.listener, listeners.versionInfo);
    assert.equal(status?.lastSentVersion.cluster, clusters.versionInfo);
    assert.equal(status?.lastNack?.kind, 'cluster');
    assert.equal(status?.lastNack?.error, 'cluster web: unsupported lb policy');

    const metrics = (await get(relay, '/metrics')).text;
    assert.equal(series(metrics, 'vmss_mesh_relay_xds_streams', 'profile="proxyless-grpc",mode="sotw"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_xds_streams_opened_total', 'profile="proxyless-grpc",mode="sotw"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_xds_responses_total', 'type="listener",profile="proxyless-grpc"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_xds_responses_total', 'type="cluster",profile="proxyless-grpc"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_xds_ack_latency_seconds_count', 'type="listener"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_xds_nacks_total', 'type="cluster",profile="proxyless-grpc"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_xds_requests_total', 'type="cluster",outcome="nack"'), 1);
    assert.ok((series(metrics, 'vmss_mesh_relay_xds_response_bytes_total', 'type="listener"') ?? 0) > 0);

    stream.cancel();
    await until(() => relay.ads.streamCount() === 0, (wake) => {
      const timer = setInterval(wake, 5);
      return () => clearInterval(timer);
    }, 5_000, 'the stream to close');
    const closed = (await get(relay, '/metrics')).text;
    assert.equal(series(closed, 'vmss_mesh_relay_xds_streams', 'profile="proxyless-grpc",mode="sotw"'), 0);
  });

  test('pushes are counted by outcome, refused ones by reason, and reach /debug/config_dump', async (t) => {
    const { relay } = await startWorld(t);
    await relay.ready;
    const push = new GrpcPushClient({ targets: [relay.xdsAddress], token: TOKEN });
    t.after(() => push.close());
    const pushedAt = relay.meshState.pushIndexBound()!.latest + 10; // a push may not claim far beyond Consul's index
    const [created] = await push.publish([endpointSet('api', pushedAt, [endpoint('10.0.3.1', { port: 9000 })], 'grpc')], 'test');
    assert.deepEqual(created?.services, [{ service: 'api', outcome: 'created', currentIndex: pushedAt }]);
    const [stale] = await push.publish([endpointSet('api', pushedAt - 1, [])], 'test');
    assert.equal(stale?.services?.[0]?.outcome, 'ignored-stale');
    const stranger = new GrpcPushClient({ targets: [relay.xdsAddress], token: 'not-the-token' });
    t.after(() => stranger.close());
    assert.equal((await stranger.publish([endpointSet('api', 20_000, [])], 'stranger'))[0]?.ok, false);

    await snapshotsUntil(relay, () => relay.snapshots.current('proxyless-grpc').resources.cluster.has('api'), 'the pushed service in the snapshots');
    const dump = (await get(relay, '/debug/config_dump')).json() as {
      ready: boolean;
      profiles: Record<string, { version: string; resources: Record<string, Array<{ name: string; resource: Record<string, unknown> }>> }>;
    };
    assert.equal(dump.ready, true);
    const proxyless = dump.profiles['proxyless-grpc']!;
    assert.deepEqual(proxyless.resources.listener!.map((r) => r.name).sort(), ['api', 'web']);
    const api = proxyless.resources.endpoint!.find((r) => r.name === 'api')!.resource as { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }> };
    assert.deepEqual(
      api.endpoints.flatMap((l) => l.lb_endpoints.map((e) => [e.endpoint.address.socket_address.address, e.endpoint.address.socket_address.port_value])),
      [['10.0.3.1', 9000]],
    );
    const listener = proxyless.resources.listener!.find((r) => r.name === 'api')!.resource as { api_listener: { api_listener: Record<string, unknown> } };
    assert.equal(listener.api_listener.api_listener['@type'], 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
    assert.ok(dump.profiles['envoy-gateway']!.resources.cluster!.some((r) => r.name === 'api'));

    const metrics = (await get(relay, '/metrics')).text;
    assert.equal(series(metrics, 'vmss_mesh_relay_push_services_total', 'outcome="created"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_push_services_total', 'outcome="ignored-stale"'), 1);
    assert.equal(series(metrics, 'vmss_mesh_relay_push_requests_rejected_total', 'reason="unauthenticated"'), 1);
  });

  test('Consul errors during the first load are counted, and the load still completes', async (t) => {
    let failures = 1;
    const { relay } = await startWorld(t, {
      beforeRequest: (info) => {
        if (info.path === '/v1/catalog/services' && failures > 0) {
          failures -= 1;
          return { status: 500, body: 'No cluster leader' };
        }
        return undefined;
      },
    });
    await relay.ready;
    const metrics = (await get(relay, '/metrics')).text;
    assert.equal(series(metrics, 'vmss_mesh_relay_consul_watch_errors_total', 'query="initial-load"'), 1);
  });

  test('unknown paths are 404 with the list of endpoints; other methods 405', async (t) => {
    const { relay } = await startWorld(t);
    const missing = await get(relay, '/debug/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { error: 'no such endpoint: /debug/nope', endpoints: ['/healthz', '/readyz', '/metrics', '/debug/config_dump', '/debug/clients'] });
    const post = await get(relay, '/readyz', 'POST');
    assert.equal(post.status, 405);
    const metrics = await get(relay, '/metrics');
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
  });

  test('graceful shutdown: readiness drops, open streams end UNAVAILABLE after their config, new ones are refused', async (t) => {
    const { relay } = await startWorld(t);
    await relay.ready;
    const client = new RawAdsClient(relay.xdsAddress);
    t.after(() => client.close());
    const stream = client.sotw(nodeFor('proxyless-grpc'));
    stream.send({ kind: 'listener', names: ['web'] });
    const got = await stream.next();
    assert.deepEqual(got.names, ['web'], 'the client has its configuration before the relay stops');

    const adminUrl = relay.adminUrl;
    await relay.close();
    const status = await stream.status();
    assert.equal(status.code, 14 /* UNAVAILABLE */);
    assert.equal(relay.isReady(), false);
    await assert.rejects(fetch(`${adminUrl}/readyz`), 'the admin server is gone');
    const late = new RawAdsClient(relay.xdsAddress);
    t.after(() => late.close());
    const refused = late.sotw(nodeFor('proxyless-grpc'));
    refused.send({ kind: 'listener', names: ['web'] });
    assert.equal((await refused.status()).code, 14, 'nothing listens any more');
  });
});
