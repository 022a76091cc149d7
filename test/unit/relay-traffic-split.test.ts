/**
 * Weighted routing between a service's scale sets, and route retry policies and timeouts, in both
 * profiles: per-scale-set subset clusters (own assignments) behind weighted_clusters, weight 0 =
 * drain, "all zero" falls back to the whole service, and every resource passes Envoy's validator
 * and grpc-js-xds's own decoders.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import type { MeshState } from '../../src/relay/mesh-state';
import { resolveBuildOptions } from '../../src/relay/resources/build-options';
import { buildProfileSpecs } from '../../src/relay/resources/profile-resources';
import { serviceRouting } from '../../src/relay/resources/traffic-split';
import { subsetClusterName } from '../../src/relay/resources/resource-names';
import type { Snapshot } from '../../src/relay/snapshot/snapshot-types';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { XDS_KINDS } from '../../src/relay/xds/kinds';
import { RESOURCE_KINDS, type ResourceKind } from '../../src/relay/xds/resource-kind';
import { CLIENT_PROFILES, SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { assertEnvoyLoadsSnapshot, assertGrpcJsAccepts, assertKnownToEnvoy } from '../helpers/envoy-strict';

const BLUE = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/orders-blue';
const GREEN = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/orders-green';

function ep(n: number, scaleSet: string | undefined, scaleSetWeight: number | undefined, health: MeshEndpoint['health'] = 'passing'): MeshEndpoint {
  return {
    address: `10.0.0.${n}`,
    port: 50051,
    zone: String((n % 3) + 1),
    health,
    weight: 1,
    instanceName: `vm_${n}`,
    ...(scaleSet !== undefined ? { scaleSet } : {}),
    ...(scaleSetWeight !== undefined ? { scaleSetWeight } : {}),
  };
}

/** Blue has 4 instances, green 1: by weight, not by count. */
function orders(blue: number | undefined, green: number | undefined, extra: Partial<ServiceEndpointSet> = {}, greenHealth: MeshEndpoint['health'] = 'passing'): ServiceEndpointSet {
  return {
    service: 'orders',
    consulIndex: 9,
    protocol: 'grpc',
    endpoints: [ep(1, BLUE, blue), ep(2, BLUE, blue), ep(3, BLUE, blue), ep(4, BLUE, blue), ep(5, GREEN, green, greenHealth)],
    ...extra,
  };
}

function state(...sets: ServiceEndpointSet[]): MeshState {
  return { services: new Map(sets.map((s) => [s.service, s])), gatewayRoutes: [] };
}

function decode(kind: ResourceKind, bytes: Uint8Array): Record<string, unknown> {
  const type = envoyType(XDS_KINDS[kind].typeName);
  return type.toObject(type.decode(bytes), { defaults: false, longs: Number, enums: String }) as Record<string, unknown>;
}

/** Every resource of both profiles passes Envoy's validator (whole snapshot: references resolve) and grpc-js-xds. */
function published(s: MeshState, options = {}): { store: SnapshotStore; snapshots: Record<ClientProfile, Snapshot> } {
  const store = new SnapshotStore(options);
  store.publish(s);
  const snapshots = { 'envoy-gateway': store.current('envoy-gateway'), 'proxyless-grpc': store.current('proxyless-grpc') };
  for (const profile of CLIENT_PROFILES) {
    assertEnvoyLoadsSnapshot(profile, snapshots[profile]);
    if (profile === 'proxyless-grpc') for (const kind of RESOURCE_KINDS) for (const [name, r] of snapshots[profile].resources[kind]) assertGrpcJsAccepts(kind, name, r.bytes);
  }
  return { store, snapshots };
}

type Action = Record<string, unknown> & { weighted_clusters?: { clusters: Array<{ name: string; weight?: { value?: number } }> }; cluster?: string };

function routeAction(snapshot: Snapshot, routeName: string, service = 'orders'): Action {
  const config = decode('route', snapshot.resources.route.get(routeName)!.bytes) as { virtual_hosts: Array<{ routes: Array<{ name: string; route: Action }> }> };
  const routes = config.virtual_hosts.flatMap((v) => v.routes);
  const route = routes.find((r) => r.name === 'default' || r.name.startsWith(`${service}:`));
  assert.ok(route, `a route to ${service} in ${routeName}`);
  return route.route;
}

/** A decoded google.protobuf.Duration in ms (zero fields may or may not be present). */
function ms(d: unknown): number | undefined {
  if (d === undefined) return undefined;
  const { seconds = 0, nanos = 0 } = d as { seconds?: number; nanos?: number };
  return seconds * 1000 + nanos / 1e6;
}

function weights(action: Action): Record<string, number> {
  return Object.fromEntries((action.weighted_clusters?.clusters ?? []).map((c) => [c.name, c.weight?.value ?? 0]));
}

const BLUE_CLUSTER = subsetClusterName('orders', BLUE);
const GREEN_CLUSTER = subsetClusterName('orders', GREEN);

describe('weighted routes between scale sets', () => {
  test('subset cluster names: service, readable scale set name, hash of the ID', () => {
    assert.match(BLUE_CLUSTER, /^orders@orders-blue-[0-9a-f]{8}$/);
    assert.notEqual(subsetClusterName('orders', BLUE.replace('/rg/', '/rg2/')), BLUE_CLUSTER, 'same name in another resource group');
    assert.equal(subsetClusterName('orders', ''), 'orders@unknown-scale-set');
  });

  test('no weight anywhere: one cluster per service, exactly as before weights', () => {
    const { snapshots } = published(state(orders(undefined, undefined)));
    for (const profile of CLIENT_PROFILES) {
      assert.deepEqual([...snapshots[profile].resources.cluster.keys()], ['orders'], profile);
      assert.deepEqual([...snapshots[profile].resources.endpoint.keys()], ['orders'], profile);
    }
    assert.deepEqual(routeAction(snapshots['proxyless-grpc'], 'orders'), { cluster: 'orders' });
    const gateway = routeAction(snapshots['envoy-gateway'], 'vmss-mesh-gateway');
    assert.deepEqual(Object.keys(gateway).sort(), ['cluster', 'timeout']);
    assert.equal(gateway.cluster, 'orders');
    assert.equal(ms(gateway.timeout), 0, 'gRPC: timeout 0 (disabled)');
  });

  test('90/10: subset clusters with their own assignments behind weighted_clusters, in both profiles', () => {
    const { snapshots } = published(state(orders(90, 10)));
    for (const profile of CLIENT_PROFILES) {
      const snapshot = snapshots[profile];
      assert.deepEqual([...snapshot.resources.cluster.keys()].sort(), ['orders', BLUE_CLUSTER, GREEN_CLUSTER].sort(), profile);
      assert.deepEqual([...snapshot.resources.endpoint.keys()].sort(), ['orders', BLUE_CLUSTER, GREEN_CLUSTER].sort(), profile);
      const addresses = (name: string) =>
        (decode('endpoint', snapshot.resources.endpoint.get(name)!.bytes) as { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string } } } }> }> }).endpoints
          .flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address))
          .sort();
      assert.deepEqual(addresses(BLUE_CLUSTER), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
      assert.deepEqual(addresses(GREEN_CLUSTER), ['10.0.0.5']);
      assert.equal(addresses('orders').length, 5);
      const action = routeAction(snapshot, profile === 'envoy-gateway' ? 'vmss-mesh-gateway' : 'orders');
      assert.deepEqual(weights(action), { [BLUE_CLUSTER]: 90, [GREEN_CLUSTER]: 10 }, profile);
      assert.equal(action.cluster, undefined);
    }
  });

  test('weight 0 drains: the scale set keeps its cluster and healthy endpoints, the route gives it nothing', () => {
    const { snapshots } = published(state(orders(0, 100)));
    for (const profile of CLIENT_PROFILES) {
      const snapshot = snapshots[profile];
      assert.ok(snapshot.resources.cluster.has(BLUE_CLUSTER));
      const statuses = (decode('endpoint', snapshot.resources.endpoint.get(BLUE_CLUSTER)!.bytes) as { endpoints: Array<{ lb_endpoints: Array<{ health_status: string }> }> }).endpoints.flatMap((l) =>
        l.lb_endpoints.map((e) => e.health_status),
      );
      assert.deepEqual(statuses, ['HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY']);
      assert.deepEqual(weights(routeAction(snapshot, profile === 'envoy-gateway' ? 'vmss-mesh-gateway' : 'orders')), { [BLUE_CLUSTER]: 0, [GREEN_CLUSTER]: 100 });
    }
  });

  test('all zero (or no healthy instance where the weight is): back to sharing by healthy instances, with a note', () => {
    for (const [set, why] of [
      [orders(0, 0), 'every weight 0'],
      [orders(0, 50, {}, 'critical'), 'the only weighted scale set has no healthy instance'],
    ] as const) {
      const { store, snapshots } = published(state(set));
      for (const profile of CLIENT_PROFILES) {
        assert.deepEqual(weights(routeAction(snapshots[profile], profile === 'envoy-gateway' ? 'vmss-mesh-gateway' : 'orders')), {}, why);
        assert.equal(routeAction(snapshots[profile], profile === 'envoy-gateway' ? 'vmss-mesh-gateway' : 'orders').cluster, 'orders', why);
        assert.ok(snapshots[profile].resources.cluster.has(GREEN_CLUSTER), 'subsets stay, ready for the next weight');
      }
      assert.deepEqual(
        store.notes().filter((n) => n.includes('weight')),
        ['service orders: no scale set with a healthy instance has a weight above 0; calls are shared by healthy instances as if no weight were set'],
        why,
      );
    }
  });

  test('a scale set with no healthy instance gets route weight 0 whatever its tag; one without a tag counts 100', () => {
    assert.deepEqual(
      serviceRouting(orders(90, 10, {}, 'draining'), { onlyPassing: false }).subsets.map((s) => [s.cluster, s.weight, s.routeWeight]),
      [
        [BLUE_CLUSTER, 90, 90],
        [GREEN_CLUSTER, 10, 0],
      ],
    );
    const mixed = serviceRouting(orders(undefined, 25), { onlyPassing: false });
    assert.deepEqual(mixed.target, {
      weightedClusters: [
        { name: BLUE_CLUSTER, weight: 100 },
        { name: GREEN_CLUSTER, weight: 25 },
      ],
    });
    const warning = orders(90, 10, {}, 'warning');
    assert.equal(serviceRouting(warning, { onlyPassing: true }).subsets[1]?.routeWeight, 0, 'onlyPassing: warning is not usable');
    assert.equal(serviceRouting(warning, { onlyPassing: false }).subsets[1]?.routeWeight, 10);
  });

  test('a scale set whose only healthy endpoints its assignment leaves out (bad address or port) gets route weight 0', () => {
    // Blue 10 with a valid IP; green 90 whose only passing endpoint is not servable: green's
    // assignment is empty, so routing 90 % of calls to it would fail them all.
    for (const bad of [{ address: 'not-an-ip' }, { port: 0 }, { port: 70_000 }]) {
      const set: ServiceEndpointSet = { service: 'orders', consulIndex: 9, protocol: 'grpc', endpoints: [ep(1, BLUE, 10), { ...ep(5, GREEN, 90), ...bad }] };
      const routing = serviceRouting(set, { onlyPassing: false });
      assert.deepEqual(
        routing.subsets.map((s) => [s.cluster, s.routeWeight]),
        [
          [BLUE_CLUSTER, 10],
          [GREEN_CLUSTER, 0],
        ],
        JSON.stringify(bad),
      );
      const { snapshots } = published(state(set));
      for (const profile of CLIENT_PROFILES) assert.deepEqual(weights(routeAction(snapshots[profile], profile === 'envoy-gateway' ? 'vmss-mesh-gateway' : 'orders')), { [BLUE_CLUSTER]: 10, [GREEN_CLUSTER]: 0 });
      // Only the unservable scale set weighted: the all-zero fallback to the service's own cluster.
      const alone: ServiceEndpointSet = { ...set, endpoints: [ep(1, BLUE, 0), { ...ep(5, GREEN, 90), ...bad }] };
      assert.deepEqual(serviceRouting(alone, { onlyPassing: false }).target, { cluster: 'orders' }, JSON.stringify(bad));
    }
    // A servable healthy endpoint next to the unservable one keeps green's weight.
    const mixed: ServiceEndpointSet = { service: 'orders', consulIndex: 9, protocol: 'grpc', endpoints: [ep(1, BLUE, 10), { ...ep(5, GREEN, 90), address: 'not-an-ip' }, ep(6, GREEN, 90)] };
    assert.deepEqual(serviceRouting(mixed, { onlyPassing: false }).subsets.map((s) => s.routeWeight), [10, 90]);
  });

  test('scale set IDs differing only in case are one subset: no cluster name twice in weighted_clusters', () => {
    const set: ServiceEndpointSet = {
      service: 'orders',
      consulIndex: 9,
      protocol: 'grpc',
      endpoints: [ep(1, BLUE, 60), ep(2, BLUE.toUpperCase(), 60), ep(3, GREEN, 40)],
    };
    const routing = serviceRouting(set, { onlyPassing: false });
    assert.deepEqual(
      routing.subsets.map((s) => [s.scaleSet, s.cluster, s.endpoints.map((e) => e.instanceName)]),
      [
        [BLUE, BLUE_CLUSTER, ['vm_1', 'vm_2']],
        [GREEN, GREEN_CLUSTER, ['vm_3']],
      ],
    );
    assert.deepEqual(routing.target, {
      weightedClusters: [
        { name: BLUE_CLUSTER, weight: 60 },
        { name: GREEN_CLUSTER, weight: 40 },
      ],
    });
    published(state(set));
  });

  test('registrations of one scale set disagreeing (an update half applied): the weight most hold', () => {
    const set = orders(90, 10);
    const halfway = { ...set, endpoints: set.endpoints.map((e, i) => (i < 1 ? { ...e, scaleSetWeight: 20 } : e)) };
    assert.equal(serviceRouting(halfway, { onlyPassing: false }).subsets[0]?.weight, 90);
  });

  test('endpoints pushed without a scale set form a subset of their own', () => {
    const set = orders(90, 10);
    const withOld = { ...set, endpoints: [...set.endpoints, ep(6, undefined, undefined)] };
    const routing = serviceRouting(withOld, { onlyPassing: false });
    assert.deepEqual(
      routing.subsets.map((s) => [s.cluster, s.routeWeight]),
      [
        ['orders@unknown-scale-set', 100],
        [BLUE_CLUSTER, 90],
        [GREEN_CLUSTER, 10],
      ],
    );
    published(state(withOld));
  });

  test('gateway rules route to the weighted subsets too; inline route mode and onlyPassing', () => {
    const s: MeshState = { services: new Map([['orders', orders(90, 10)]]), gatewayRoutes: [{ pathPrefix: '/orders', service: 'orders' }, { pathPrefix: '/', service: 'later' }] };
    const { snapshots } = published(s, { routeConfigMode: 'inline', onlyPassing: true, localityRegion: 'westeurope' });
    assert.deepEqual(weights(routeAction(snapshots['envoy-gateway'], 'vmss-mesh-gateway')), { [BLUE_CLUSTER]: 90, [GREEN_CLUSTER]: 10 });
    // Inline mode: the route configuration (with the weighted subsets) is inside the listener's HCM.
    const listener = Buffer.from(snapshots['proxyless-grpc'].resources.listener.get('orders')!.bytes);
    assert.ok(listener.includes(GREEN_CLUSTER) && listener.includes(BLUE_CLUSTER));
    assert.equal(snapshots['proxyless-grpc'].resources.route.size, 0);
  });

  test('a weight change rebuilds the routes only: clusters and assignments keep their bytes', () => {
    const store = new SnapshotStore();
    store.publish(state(orders(90, 10)));
    const before = { gw: store.current('envoy-gateway'), px: store.current('proxyless-grpc') };
    const result = store.publish(state(orders(50, 50)));
    assert.deepEqual([...result.changed].sort(), ['envoy-gateway', 'proxyless-grpc']);
    for (const [profile, old] of [
      ['envoy-gateway', before.gw],
      ['proxyless-grpc', before.px],
    ] as const) {
      const now = store.current(profile);
      for (const kind of ['cluster', 'endpoint'] as const) for (const [name, r] of now.resources[kind]) assert.equal(r, old.resources[kind].get(name), `${profile} ${kind} ${name} kept`);
      const routeName = profile === 'envoy-gateway' ? 'vmss-mesh-gateway' : 'orders';
      assert.notEqual(now.resources.route.get(routeName), old.resources.route.get(routeName));
      assert.deepEqual(weights(routeAction(now, routeName)), { [BLUE_CLUSTER]: 50, [GREEN_CLUSTER]: 50 });
      assertEnvoyLoadsSnapshot(profile, now);
    }
  });
});

describe('retry policy and timeouts', () => {
  const policy = { retryOn: ['unavailable', 'cancelled', '5xx', 'reset', 'connect-failure'] as const, numRetries: 3, perTryTimeoutMs: 250, timeoutMs: 2000 };

  test('gateway: every condition, num_retries, per-try timeout, route timeout', () => {
    const { snapshots } = published(state(orders(90, 10, { policy: { ...policy, retryOn: [...policy.retryOn] } })));
    const action = routeAction(snapshots['envoy-gateway'], 'vmss-mesh-gateway');
    const retry = action.retry_policy as { retry_on: string; num_retries: { value: number }; per_try_timeout: unknown };
    assert.deepEqual([retry.retry_on, retry.num_retries, ms(retry.per_try_timeout)], ['unavailable,cancelled,5xx,reset,connect-failure', { value: 3 }, 250]);
    assert.equal(ms(action.timeout), 2000);
    assert.deepEqual(weights(action), { [BLUE_CLUSTER]: 90, [GREEN_CLUSTER]: 10 });
  });

  test('proxyless: gRPC conditions only, no per-try timeout (grpc-js has none), max_stream_duration for the timeout', () => {
    const { snapshots } = published(state(orders(undefined, undefined, { policy: { ...policy, retryOn: [...policy.retryOn] } })));
    const action = routeAction(snapshots['proxyless-grpc'], 'orders');
    assert.deepEqual(action.retry_policy, { retry_on: 'unavailable,cancelled', num_retries: { value: 3 } });
    assert.equal(ms((action.max_stream_duration as { max_stream_duration: unknown }).max_stream_duration), 2000);
    assert.equal(action.timeout, undefined);
  });

  test('HTTP-only conditions: the gateway retries, proxyless gets no retry policy; no count = 1 retry', () => {
    const { snapshots } = published(state(orders(undefined, undefined, { protocol: 'http', policy: { retryOn: ['5xx', 'gateway-error'] } })));
    assert.equal(routeAction(snapshots['proxyless-grpc'], 'orders').retry_policy, undefined);
    const gateway = routeAction(snapshots['envoy-gateway'], 'vmss-mesh-gateway');
    assert.deepEqual(gateway.retry_policy, { retry_on: '5xx,gateway-error', num_retries: { value: 1 } });
    assert.equal(gateway.timeout, undefined, 'http service, no timeout tag: Envoy default');
  });

  test('the specs are known to Envoy field by field', () => {
    const specs = buildProfileSpecs(state(orders(90, 10, { policy: { ...policy, retryOn: [...policy.retryOn] } })), resolveBuildOptions({}));
    for (const profile of CLIENT_PROFILES) for (const kind of RESOURCE_KINDS) for (const spec of specs[profile][kind]) assertKnownToEnvoy(XDS_KINDS[kind].typeName, spec);
  });
});

