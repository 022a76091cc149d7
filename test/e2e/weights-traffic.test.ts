/**
 * Traffic between scale sets (issue 13), end to end: mesh tags on two scale sets → the planner's
 * registrations in Consul (service meta) → the relay's Consul watch → weighted routes over ADS →
 * the real @grpc/grpc-js-xds client calling real gRPC backends on loopback addresses.
 *
 * 1. 90/10 between a blue scale set of 3 instances and a green one of 1 (by instance count green
 *    would get 25 %): the measured shares over ≥ 2,000 calls are within ±5 points of the weights,
 *    and the gateway profile's resources carry the same weights and pass the Envoy validator.
 * 2. Weight change (blue 0 = drain, green 100): the time from the tag change to the last call on
 *    blue is measured and printed (bench figure: 1 s); blue's instances stay registered and healthy.
 * 3. Blue leaves the mesh and its instances go away; 4. green's weight tag goes (back to one
 *    cluster per service). No call fails at any point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startRelay } from '../../src/relay/relay';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import { subsetClusterName } from '../../src/relay/resources/resource-names';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { XDS_KINDS } from '../../src/relay/xds/kinds';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { startDemoBackend, type DemoBackend } from '../../src/sandbox/backends/demo-backend';
import { claimLoopbackBlock } from '../../src/sandbox/loopback-block';
import { grpcBootstrap, XdsTraffic } from '../../src/sandbox/traffic/xds-traffic';
import { parseMeshTags } from '../../src/shared/azure/mesh-tags';
import type { ServiceEndpointSet } from '../../src/shared/endpoints';
import type { Instance, MeshScaleSet, ScaleSetRef } from '../../src/shared/model';
import type { ScaleSetState } from '../../src/shared/planner/plan';
import { scaleSetRef } from '../../src/shared/resource-id';
import { assertEnvoyLoadsSnapshot } from '../helpers/envoy-strict';
import { deferrer } from '../helpers/defer';
import { applyReconcile, startConsulWithRegistry } from '../helpers/reconcile-steps';
import { startWatchingRelay } from '../helpers/watching-relay';

const SUBSCRIPTION = '00000000-0000-0000-0000-0000000000e3';

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('90/10 between two scale sets, a weight change, then the old scale set retired: the xDS client follows with no failed call', async (t) => {
  const defer = deferrer(t);
  const { consul, registry } = await startConsulWithRegistry(defer, SUBSCRIPTION);

  const block = await claimLoopbackBlock();
  defer(() => block.release());
  const ip = (n: number) => `127.${block.octet}.63.${n}`;
  // One port per mesh service, as in Consul; each instance its own loopback address (the first binds it).
  const first = await startDemoBackend({ instanceName: 'orders-blue_1', address: ip(1), grpcPort: 0 });
  const port = first.grpcPort;
  const rest = await Promise.all(
    [
      ['orders-blue_2', 2],
      ['orders-blue_3', 3],
      ['orders-green_1', 4],
    ].map(([name, n]) => startDemoBackend({ instanceName: name as string, address: ip(n as number), grpcPort: port })),
  );
  const backends = [first, ...rest] as [DemoBackend, DemoBackend, DemoBackend, DemoBackend];
  defer(() => Promise.all(backends.map((b) => b.close())));

  const blue = scaleSetRef(SUBSCRIPTION, 'rg', 'orders-blue');
  const green = scaleSetRef(SUBSCRIPTION, 'rg', 'orders-green');
  const instance = (ref: ScaleSetRef, n: number, address: string): Instance => ({
    name: `${ref.name}_${n}`,
    instanceId: String(n),
    resourceId: `${ref.id}/virtualmachines/${n}`,
    privateIps: [address],
    zone: '1',
    provisioningState: 'Succeeded',
    powerState: 'running',
  });
  const blueInstances = [1, 2, 3].map((n) => instance(blue, n, ip(n)));
  const greenInstances = [instance(green, 1, ip(4))];
  /** The scale set as the Functions app reads it from ARM: services parsed from its tags. */
  const scaleSet = (ref: ScaleSetRef, tags: Record<string, string>): MeshScaleSet => {
    const parsed = parseMeshTags(tags);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
    return { ref, orchestrationMode: 'Uniform', capacity: 1, location: 'westeurope', tags, services: parsed.services };
  };
  const tags = (weight: number) => ({ 'vmss-mesh-service': 'orders', 'vmss-mesh-port': String(port), 'vmss-mesh-protocol': 'grpc', 'vmss-mesh-weight': String(weight) });
  /** What the Functions app does after listing ARM: claim, plan, apply. */
  const reconcile = (ref: ScaleSetRef, state: ScaleSetState, instances: Instance[], set?: MeshScaleSet) =>
    applyReconcile(registry, { ref, state, ...(set ? { scaleSet: set } : {}), instances, maxRemovalShare: 1 });
  await reconcile(blue, 'in-mesh', blueInstances, scaleSet(blue, tags(90)));
  await reconcile(green, 'in-mesh', greenInstances, scaleSet(green, tags(10)));

  const relay = await startWatchingRelay(consul.url);
  defer(() => relay.close());
  await relay.ready;

  // The gateway's resources: the same 90/10 split, and Envoy would load them.
  const gateway = relay.snapshots.current('envoy-gateway');
  assertEnvoyLoadsSnapshot('envoy-gateway', gateway);
  assertEnvoyLoadsSnapshot('proxyless-grpc', relay.snapshots.current('proxyless-grpc'));
  const routeType = envoyType(XDS_KINDS.route.typeName);
  const gatewayRoutes = routeType.toObject(routeType.decode(gateway.resources.route.get('vmss-mesh-gateway')!.bytes), { defaults: false }) as {
    virtual_hosts: Array<{ routes: Array<{ route: { weighted_clusters?: { clusters: Array<{ name: string; weight: { value: number } }> } } }> }>;
  };
  const gatewayWeights = Object.fromEntries(gatewayRoutes.virtual_hosts[0]!.routes[0]!.route.weighted_clusters!.clusters.map((c) => [c.name, c.weight.value]));
  assert.deepEqual(gatewayWeights, { [subsetClusterName('orders', blue.id)]: 90, [subsetClusterName('orders', green.id)]: 10 });

  const traffic = new XdsTraffic({ service: 'orders', bootstrap: grpcBootstrap({ serverUri: relay.xdsAddress, nodeId: 'weights-client' }), concurrency: 4, pauseMs: 0 });
  defer(() => traffic.close());
  await traffic.warmUp();
  traffic.start();
  const isBlue = (instanceName: string | undefined) => instanceName?.startsWith('orders-blue_') === true;

  // 1. 90/10 over ≥ 2,000 calls, counted once both scale sets have served.
  await traffic.waitFor((records) => records.some((r) => isBlue(r.instance)) && records.some((r) => r.instance === 'orders-green_1'), 15_000, 'both scale sets serve');
  let since = Date.now();
  const CALLS = 2_400;
  await traffic.waitFor(() => traffic.recordsSince(since).length >= CALLS, 60_000, `${CALLS} calls at 90/10`);
  const split = traffic.shares(since);
  const greenCalls = split.perInstance.get('orders-green_1') ?? 0;
  const blueCalls = [...split.perInstance].filter(([name]) => isBlue(name)).reduce((sum, [, n]) => sum + n, 0);
  const greenShare = greenCalls / (greenCalls + blueCalls);
  t.diagnostic(`90/10: ${split.calls} calls, blue ${(100 * (1 - greenShare)).toFixed(1)} %, green ${(100 * greenShare).toFixed(1)} % (by instance count green would have 25 %)`);
  assert.ok(Math.abs(greenShare - 0.1) <= 0.05, `green's share ${(100 * greenShare).toFixed(1)} % is not 10 % ± 5`);
  assert.equal(split.failed, 0);

  // 2. Drain blue: weight 0, an ordinary update of its registrations' meta.
  const changedAt = Date.now();
  const drain = await reconcile(blue, 'in-mesh', blueInstances, scaleSet(blue, tags(0)));
  assert.deepEqual(
    drain.actions.map((a) => (a.kind === 'update' ? a.changes.join(',') : a.kind)),
    ['service-changed:orders:meta', 'service-changed:orders:meta', 'service-changed:orders:meta'],
  );
  await reconcile(green, 'in-mesh', greenInstances, scaleSet(green, tags(100)));
  await traffic.waitFor(
    (records) => records.length >= 300 && records.slice(-300).every((r) => r.at > changedAt && r.instance === 'orders-green_1'),
    15_000,
    '300 calls in a row on green after the drain',
  );
  const lastBlue = traffic.recordsSince(changedAt).filter((r) => isBlue(r.instance)).pop();
  const shiftMs = lastBlue ? lastBlue.at - changedAt : 0;
  t.diagnostic(`weight change (blue 90→0, green 10→100): last call on blue ${shiftMs} ms after the tag change was reconciled (goal 1 s)`);
  assert.ok(shiftMs < 5_000, `the shift took ${shiftMs} ms`);
  // Drained, not removed: blue's instances stay registered and passing.
  const [held] = await registry.serviceEndpoints(['orders']);
  assert.deepEqual(
    held?.endpoints.filter((e) => e.scaleSet === blue.id).map((e) => [e.health, e.scaleSetWeight]),
    [
      ['passing', 0],
      ['passing', 0],
      ['passing', 0],
    ],
  );

  // 3. Blue leaves the mesh (its tags go), then its VMs go away.
  await reconcile(blue, 'left-mesh', []);
  await Promise.all(backends.slice(0, 3).map((b) => b.close()));
  since = Date.now();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= 300, 15_000, '300 calls after blue is gone');

  // 4. Green's weight tag goes too: back to one cluster per service (subset clusters removed after the route moved).
  const { 'vmss-mesh-weight': _dropped, ...unweighted } = tags(100);
  await reconcile(green, 'in-mesh', greenInstances, scaleSet(green, unweighted));
  await waitUntil(() => !relay.snapshots.current('proxyless-grpc').resources.cluster.has(subsetClusterName('orders', green.id)), 10_000, 'the subset cluster is gone');
  since = Date.now();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= 300, 15_000, '300 calls without weights');
  await traffic.stop();

  const totals = traffic.totals();
  assert.equal(totals.failed, 0, `failed calls: ${JSON.stringify(traffic.shares(0).errors.slice(0, 5))}`);
  assert.equal(relay.ads.clients()[0]?.lastNack, undefined, 'the client never rejected a resource');
  t.diagnostic(`calls=${totals.calls} failed=${totals.failed}`);
});

test('the push path (what the Functions app sends after a commit) carries the weights too: green 0 → 100 is followed at once', async (t) => {
  const defer = deferrer(t);
  const consul = await startConsulDouble();
  defer(() => consul.close());
  const relay = await startRelay(
    loadRelayConfig({
      VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
      VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
      VMSS_MESH_RELAY_TOKEN: 'weights-token',
      CONSUL_HTTP_ADDR: consul.url,
      VMSS_MESH_RELAY_COALESCE_MS: '20',
    }),
    { log: pino({ level: 'silent' }), processMetrics: false },
  );
  defer(() => relay.close());
  await relay.ready;
  const backends = await Promise.all(['blue_1', 'blue_2', 'green_1'].map((name, i) => startDemoBackend({ instanceName: name, address: `127.0.65.${i + 1}`, grpcPort: 0 })));
  defer(() => Promise.all(backends.map((b) => b.close())));
  const push = new GrpcPushClient({ targets: [relay.xdsAddress], token: 'weights-token' });
  defer(() => push.close());
  const blueId = scaleSetRef(SUBSCRIPTION, 'rg', 'blue').id;
  const greenId = scaleSetRef(SUBSCRIPTION, 'rg', 'green').id;
  const pushWeights = async (consulIndex: number, blueWeight: number, greenWeight: number) => {
    const set: ServiceEndpointSet = {
      service: 'orders',
      consulIndex,
      protocol: 'grpc',
      endpoints: backends.map((b) => {
        const isGreen = b.instanceName.startsWith('green');
        return { address: b.address, port: b.grpcPort, zone: '1', health: 'passing' as const, weight: 1, instanceName: b.instanceName, scaleSet: isGreen ? greenId : blueId, scaleSetWeight: isGreen ? greenWeight : blueWeight };
      }),
    };
    const [result] = await push.publish([set], 'e2e');
    assert.equal(result?.ok, true, result?.error);
  };
  await pushWeights(10, 100, 0);
  const traffic = new XdsTraffic({ service: 'orders', bootstrap: grpcBootstrap({ serverUri: relay.xdsAddress, nodeId: 'weights-push-client' }), concurrency: 4, pauseMs: 0 });
  defer(() => traffic.close());
  await traffic.warmUp();
  traffic.start();
  let since = Date.now();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= 500, 20_000, '500 calls at 100/0');
  assert.equal(traffic.shares(since).perInstance.get('green_1'), undefined, 'green at weight 0 gets no call');

  const changedAt = Date.now();
  await pushWeights(11, 0, 100);
  await traffic.waitFor(() => traffic.recordsSince(changedAt).some((r) => r.instance === 'green_1'), 10_000, 'green serves');
  const firstGreen = (traffic.recordsSince(changedAt).find((r) => r.instance === 'green_1')?.at ?? changedAt) - changedAt;
  await traffic.waitFor((records) => records.length >= 300 && records.slice(-300).every((r) => r.at > changedAt && r.instance === 'green_1'), 10_000, '300 calls in a row on green');
  const lastBlue = (traffic.recordsSince(changedAt).filter((r) => r.instance?.startsWith('blue')).pop()?.at ?? changedAt) - changedAt;
  since = Date.now();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= 200, 10_000, '200 more calls');
  await traffic.stop();
  t.diagnostic(`push path, blue 100→0 / green 0→100: first call on green ${firstGreen} ms, last call on blue ${lastBlue} ms after the push`);
  assert.ok(firstGreen < 5_000 && lastBlue < 5_000);
  assert.equal(traffic.totals().failed, 0, JSON.stringify(traffic.shares(0).errors.slice(0, 5)));
});
