/**
 * The relay end to end, fed the way the Functions app feeds it (the push API), with the real
 * @grpc/grpc-js-xds client sending steady traffic to real gRPC backends on loopback addresses.
 * Scale-out, drain and removal must move traffic without a single failed call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startRelay } from '../../src/relay/relay';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { startDemoBackend, type DemoBackend } from '../../src/sandbox/backends/demo-backend';
import { grpcBootstrap, XdsTraffic } from '../../src/sandbox/traffic/xds-traffic';
import type { EndpointHealth, ServiceEndpointSet } from '../../src/shared/endpoints';
import { loadConfig } from '../../src/shared/config';
import { ConsulRegistry, registryOptionsFrom } from '../../src/shared/consul/registry';
import type { Instance, MeshScaleSet } from '../../src/shared/model';
import { scaleSetRef } from '../../src/shared/resource-id';
import { deferrer } from '../helpers/defer';
import { applyReconcile } from '../helpers/reconcile-steps';
import { claimLoopbackBlock } from '../../src/sandbox/loopback-block';

const TOKEN = 'e2e-push-token';

function endpointSet(index: number, backends: ReadonlyArray<{ backend: DemoBackend; health: EndpointHealth; zone: string }>): ServiceEndpointSet {
  return {
    service: 'api',
    consulIndex: index,
    protocol: 'grpc',
    endpoints: backends.map(({ backend, health, zone }) => ({ address: backend.address, port: backend.grpcPort, zone, health, weight: 1, instanceName: backend.instanceName })),
  };
}

test('pushes add, drain and remove endpoints; the xDS client follows with no failed call', async (t) => {
  const defer = deferrer(t);
  const consul = await startConsulDouble();
  defer(() => consul.close());
  const config = loadRelayConfig({
    VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_TOKEN: TOKEN,
    CONSUL_HTTP_ADDR: consul.url,
    VMSS_MESH_RELAY_COALESCE_MS: '20',
  });
  const relay = await startRelay(config, { log: pino({ level: 'silent' }), processMetrics: false });
  defer(() => relay.close());
  await relay.ready;

  const backends = await Promise.all(
    [1, 2, 3, 4].map((n) => startDemoBackend({ instanceName: `api_${n}`, address: `127.0.61.${n}`, grpcPort: 0 })),
  );
  defer(() => Promise.all(backends.map((b) => b.close())));
  const [b1, b2, b3, b4] = backends as [DemoBackend, DemoBackend, DemoBackend, DemoBackend];
  const push = new GrpcPushClient({ targets: [relay.xdsAddress], token: TOKEN });
  defer(() => push.close());
  const pushOk = async (set: ServiceEndpointSet) => {
    const [result] = await push.publish([set], 'e2e');
    assert.equal(result?.ok, true, result?.error);
    return result?.services?.[0]?.outcome;
  };

  assert.equal(await pushOk(endpointSet(10, [{ backend: b1, health: 'passing', zone: '1' }, { backend: b2, health: 'passing', zone: '2' }, { backend: b3, health: 'passing', zone: '3' }])), 'created');

  const traffic = new XdsTraffic({ service: 'api', bootstrap: grpcBootstrap({ serverUri: relay.xdsAddress, nodeId: 'e2e-client' }), concurrency: 2, pauseMs: 1 });
  defer(() => traffic.close());
  await traffic.warmUp();
  traffic.start();
  const served = (name: string, since: number) => traffic.recordsSince(since).filter((r) => r.instance === name).length;

  // Calls spread over the three healthy instances.
  let since = Date.now();
  await traffic.waitFor(() => ['api_1', 'api_2', 'api_3'].every((n) => served(n, since) >= 20), 15_000, 'all three instances serve');

  // Scale-out: a fourth endpoint gets traffic (make before break: nothing fails meanwhile).
  since = Date.now();
  assert.equal(await pushOk(endpointSet(11, [{ backend: b1, health: 'passing', zone: '1' }, { backend: b2, health: 'passing', zone: '2' }, { backend: b3, health: 'passing', zone: '3' }, { backend: b4, health: 'passing', zone: '1' }])), 'accepted');
  await traffic.waitFor(() => served('api_4', since) > 0, 10_000, 'the new instance serves');
  const scaleOutMs = (traffic.recordsSince(since).find((r) => r.instance === 'api_4')?.at ?? Date.now()) - since;

  // A stale push (older index) changes nothing.
  assert.equal(await pushOk(endpointSet(9, [{ backend: b1, health: 'passing', zone: '1' }])), 'ignored-stale');

  // Drain api_1: it stops getting calls while it still runs.
  since = Date.now();
  const drainPushedAt = since;
  await pushOk(endpointSet(12, [{ backend: b1, health: 'draining', zone: '1' }, { backend: b2, health: 'passing', zone: '2' }, { backend: b3, health: 'passing', zone: '3' }, { backend: b4, health: 'passing', zone: '1' }]));
  let drainedAt = 0;
  await traffic.waitFor(
    (records) => {
      const tail = records.slice(-60);
      const ok = tail.length === 60 && tail.every((r) => r.at > since && r.instance !== 'api_1');
      if (ok && !drainedAt) drainedAt = [...records].reverse().find((r) => r.instance === 'api_1')?.at ?? drainPushedAt;
      return ok;
    },
    10_000,
    'the draining instance stops getting calls',
  );

  // Remove it, then the VM goes away: still no failed call.
  await pushOk(endpointSet(13, [{ backend: b2, health: 'passing', zone: '2' }, { backend: b3, health: 'passing', zone: '3' }, { backend: b4, health: 'passing', zone: '1' }]));
  await b1.close();
  since = Date.now();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= 300, 15_000, '300 more calls after the removal');
  await traffic.stop();

  const totals = traffic.totals();
  assert.equal(totals.failed, 0, `failed calls: ${JSON.stringify(traffic.shares(0).errors.slice(0, 5))}`);
  assert.equal(served('api_1', since), 0);
  const clients = relay.ads.clients();
  assert.equal(clients.length, 1);
  assert.equal(clients[0]?.profile, 'proxyless-grpc');
  assert.equal(clients[0]?.lastNack, undefined, 'the client never rejected a resource');
  t.diagnostic(`calls=${totals.calls} scale-out→first call on new instance=${scaleOutMs} ms drain→last call on drained instance=${drainedAt - drainPushedAt} ms`);
});

test('relay restart: clients keep their config while it is down, then converge to Consul without any push', async (t) => {
  const defer = deferrer(t);
  const consul = await startConsulDouble();
  defer(() => consul.close());
  const appConfig = loadConfig({ VMSS_MESH_SUBSCRIPTIONS: 'sub', CONSUL_HTTP_ADDR: consul.url });
  const registry = new ConsulRegistry(registryOptionsFrom(appConfig));
  defer(() => registry.close());
  const PORT = 50_062; // one port per mesh service, as in Consul; each instance has its own loopback IP
  // Fixed port, so the addresses come from a loopback block of this test's own (a second run of
  // the suite, or a sandbox, on this machine has another).
  const block = await claimLoopbackBlock();
  defer(() => block.release());
  const ip = (n: number) => `127.${block.octet}.62.${n}`;
  const backends = await Promise.all([1, 2, 3].map((n) => startDemoBackend({ instanceName: `api_${n}`, address: ip(n), grpcPort: PORT })));
  defer(() => Promise.all(backends.map((b) => b.close())));
  const ref = scaleSetRef('00000000-0000-0000-0000-0000000000e2', 'rg', 'api');
  const scaleSet: MeshScaleSet = { ref, orchestrationMode: 'Uniform', capacity: 3, location: 'westeurope', tags: {}, services: [{ name: 'api', port: PORT, protocol: 'grpc' }] };
  const instance = (n: number): Instance => ({
    name: `api_${n}`,
    instanceId: String(n),
    resourceId: `${ref.id}/virtualmachines/${n}`,
    privateIps: [ip(n)],
    zone: String(n),
    provisioningState: 'Succeeded',
    powerState: 'running',
  });
  // What the Functions app does after listing ARM: claim, plan, apply.
  const reconcile = async (instances: Instance[]) => {
    await applyReconcile(registry, { ref, state: 'in-mesh', scaleSet, instances, maxRemovalShare: 0.5 });
  };
  await reconcile([1, 2, 3].map(instance));

  const relayConfig = (listen: string) =>
    loadRelayConfig({ VMSS_MESH_RELAY_LISTEN: listen, VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0', VMSS_MESH_RELAY_PUSH_DISABLED: 'true', CONSUL_HTTP_ADDR: consul.url, VMSS_MESH_RELAY_WATCH_MIN_INTERVAL_MS: '20' });
  let relay = await startRelay(relayConfig('127.0.0.1:0'), { log: pino({ level: 'silent' }), processMetrics: false });
  const xdsAddress = relay.xdsAddress;
  defer(() => relay.close());
  await relay.ready;

  const traffic = new XdsTraffic({ service: 'api', bootstrap: grpcBootstrap({ serverUri: xdsAddress, nodeId: 'restart-client' }), concurrency: 2, pauseMs: 1 });
  defer(() => traffic.close());
  await traffic.warmUp();
  traffic.start();
  let since = Date.now();
  const served = (name: string, from: number) => traffic.recordsSince(from).filter((r) => r.instance === name).length;
  await traffic.waitFor(() => ['api_1', 'api_2', 'api_3'].every((n) => served(n, since) >= 10), 15_000, 'three instances serve');

  // The relay goes away; Consul changes meanwhile (api_3 removed); calls keep working on the old config.
  await relay.close();
  await reconcile([1, 2].map(instance));
  since = Date.now();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= 100, 10_000, '100 calls with the relay down');
  assert.ok(served('api_3', since) > 0, 'while the relay is down the client keeps its last config');

  // Back on the same address: it loads Consul and the client converges, without any push.
  relay = await startRelay(relayConfig(xdsAddress), { log: pino({ level: 'silent' }), processMetrics: false });
  await relay.ready;
  await traffic.waitFor((records) => records.length >= 60 && records.slice(-60).every((r) => r.instance !== 'api_3' && r.at > since), 20_000, 'api_3 stops getting calls after the restart');
  await backends[2]!.close();
  since = Date.now();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= 100, 10_000, '100 calls after api_3 is gone');
  await traffic.stop();
  assert.equal(traffic.totals().failed, 0, JSON.stringify(traffic.shares(0).errors.slice(0, 5)));
  assert.equal(relay.ads.clients().length, 1, 'the client reconnected to the restarted relay');
});
