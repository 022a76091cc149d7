/**
 * SnapshotStore: publishing, change notification, readiness, reuse of unchanged encodings, and
 * refusal of inputs that cannot make a whole snapshot. Every snapshot published here is one Envoy
 * would load, for both profiles.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import { InvalidInputError } from '../../src/shared/errors';
import type { GatewayRoute, MeshState } from '../../src/relay/mesh-state';
import type { Snapshot } from '../../src/relay/snapshot/snapshot-types';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { RESOURCE_KINDS } from '../../src/relay/xds/resource-kind';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import { snapshotToJson } from '../../src/relay/snapshot/snapshot-json';
import { assertEnvoyLoadsSnapshot } from '../helpers/envoy-strict';

function ep(address: string, options: Partial<MeshEndpoint> = {}): MeshEndpoint {
  return { address, port: 8080, zone: '1', health: 'passing', weight: 1, instanceName: `vm-${address}`, ...options };
}

function set(service: string, endpoints: MeshEndpoint[], extra: Partial<ServiceEndpointSet> = {}): ServiceEndpointSet {
  return { service, consulIndex: 10, protocol: 'grpc', endpoints, ...extra };
}

function state(sets: ServiceEndpointSet[], gatewayRoutes: GatewayRoute[] = []): MeshState {
  return { services: new Map(sets.map((s) => [s.service, s])), gatewayRoutes };
}

const PROFILES: readonly ClientProfile[] = ['envoy-gateway', 'proxyless-grpc'];

/** Envoy would load what the store serves now, for both profiles. */
function assertLoads(store: SnapshotStore): void {
  for (const profile of PROFILES) assertEnvoyLoadsSnapshot(profile, store.current(profile));
}

/** Publishes and checks that Envoy would load the result. */
function publish(store: SnapshotStore, meshState: MeshState): ReturnType<SnapshotStore['publish']> {
  const result = store.publish(meshState);
  assertLoads(store);
  return result;
}

function names(snapshot: Snapshot): Record<string, string[]> {
  return Object.fromEntries(RESOURCE_KINDS.map((k) => [k, [...snapshot.resources[k].keys()]]));
}

function recorder(store: SnapshotStore): Array<ClientProfile[]> {
  const calls: Array<ClientProfile[]> = [];
  store.onChange((profiles) => calls.push([...profiles].sort()));
  return calls;
}

const orders = set('orders', [ep('10.0.0.1'), ep('10.0.0.2', { zone: '2' })]);
const web = set('web', [ep('10.0.1.1')], { protocol: 'http' });

describe('SnapshotStore', () => {
  test('starts empty and not ready; markReady tells listeners about every profile, once', () => {
    const store = new SnapshotStore();
    const calls = recorder(store);
    assert.equal(store.ready(), false);
    for (const profile of ['envoy-gateway', 'proxyless-grpc'] as const) {
      assert.deepEqual(names(store.current(profile)), { cluster: [], endpoint: [], listener: [], route: [] });
    }
    store.markReady();
    store.markReady();
    assert.equal(store.ready(), true);
    assert.deepEqual(calls, [['envoy-gateway', 'proxyless-grpc']]);
    assertLoads(store);
  });

  test('publish builds both profiles and calls listeners synchronously with the changed ones', () => {
    const store = new SnapshotStore();
    const calls = recorder(store);
    const result = publish(store, state([orders, web]));
    assert.deepEqual(calls, [['envoy-gateway', 'proxyless-grpc']]);
    assert.deepEqual([...result.changed].sort(), ['envoy-gateway', 'proxyless-grpc']);
    assert.deepEqual(result.rebuiltServices, ['orders', 'web']);
    assert.deepEqual(names(store.current('envoy-gateway')), {
      cluster: ['orders', 'web'],
      endpoint: ['orders', 'web'],
      listener: ['vmss-mesh-gateway-8080'],
      route: ['vmss-mesh-gateway'],
    });
    assert.deepEqual(names(store.current('proxyless-grpc')), { cluster: ['orders', 'web'], endpoint: ['orders', 'web'], listener: ['orders', 'web'], route: ['orders', 'web'] });
    assert.equal(result.versions['envoy-gateway'], store.current('envoy-gateway').version);
    assert.ok(Object.isFrozen(store.current('envoy-gateway')));
  });

  test('the same content again changes nothing: same snapshot objects, no rebuild, no notification', () => {
    const store = new SnapshotStore();
    publish(store, state([orders, web]));
    const before = { gw: store.current('envoy-gateway'), px: store.current('proxyless-grpc') };
    const calls = recorder(store);
    // new objects, new Consul index, same endpoints
    const result = publish(store, state([{ ...orders, consulIndex: 99, endpoints: [...orders.endpoints] }, web]));
    assert.deepEqual(result.rebuiltServices, []);
    assert.equal(result.changed.size, 0);
    assert.deepEqual(calls, []);
    assert.equal(store.current('envoy-gateway'), before.gw);
    assert.equal(store.current('proxyless-grpc'), before.px);
  });

  test('an endpoint change replaces only that service\'s assignment, shared by both profiles', () => {
    const store = new SnapshotStore();
    publish(store, state([orders, web]));
    const gw1 = store.current('envoy-gateway');
    const px1 = store.current('proxyless-grpc');
    const result = publish(store, state([set('orders', [...orders.endpoints, ep('10.0.0.3')]), web]));
    assert.deepEqual(result.rebuiltServices, ['orders']);
    const gw2 = store.current('envoy-gateway');
    const px2 = store.current('proxyless-grpc');
    assert.notEqual(gw2.version, gw1.version);
    assert.notEqual(px2.version, px1.version);
    for (const [before, after] of [[gw1, gw2], [px1, px2]] as const) {
      for (const kind of RESOURCE_KINDS) {
        for (const [name, resource] of after.resources[kind]) {
          const changed = kind === 'endpoint' && name === 'orders';
          assert.equal(resource === before.resources[kind].get(name), !changed, `${kind} ${name}`);
        }
      }
    }
    assert.equal(gw2.resources.endpoint.get('orders'), px2.resources.endpoint.get('orders'));
    assert.notEqual(gw2.resources.endpoint.get('orders')!.version, gw1.resources.endpoint.get('orders')!.version);
  });

  test('a rebuilt service whose bytes did not change keeps its objects and snapshot version', () => {
    const store = new SnapshotStore();
    publish(store, state([orders]));
    const before = store.current('proxyless-grpc');
    const calls = recorder(store);
    const result = publish(store, state([set('orders', [...orders.endpoints].reverse())]));
    assert.deepEqual(result.rebuiltServices, ['orders']);
    assert.deepEqual(calls, []);
    assert.equal(store.current('proxyless-grpc'), before);
  });

  test('a protocol change touches the gateway cluster and route, not the proxyless profile', () => {
    const store = new SnapshotStore();
    publish(store, state([orders]));
    const px = store.current('proxyless-grpc');
    const calls = recorder(store);
    publish(store, state([{ ...orders, protocol: 'http' }]));
    assert.deepEqual(calls, [['envoy-gateway']]);
    assert.equal(store.current('proxyless-grpc'), px);
  });

  test('a removed service disappears from both profiles', () => {
    const store = new SnapshotStore();
    publish(store, state([orders, web]));
    publish(store, state([web]));
    assert.deepEqual(names(store.current('proxyless-grpc')), { cluster: ['web'], endpoint: ['web'], listener: ['web'], route: ['web'] });
    assert.deepEqual(names(store.current('envoy-gateway')).cluster, ['web']);
  });

  test('inline route mode: proxyless listeners carry their routes, no RouteConfiguration is served', () => {
    const store = new SnapshotStore({ routeConfigMode: 'inline' });
    publish(store, state([orders]));
    assert.deepEqual(names(store.current('proxyless-grpc')), { cluster: ['orders'], endpoint: ['orders'], listener: ['orders'], route: [] });
  });

  test('invalid gateway routes and misfiled services are refused, nothing is published', () => {
    const store = new SnapshotStore();
    publish(store, state([orders]));
    const before = store.current('envoy-gateway');
    const calls = recorder(store);
    assert.throws(
      () => store.publish(state([orders], [{ pathPrefix: 'x', service: 'orders' }])),
      (e: unknown) => e instanceof InvalidInputError && e.message === 'invalid gateway routes: gatewayRoutes[0].pathPrefix: "x" must start with "/" and hold only URL path characters',
    );
    assert.throws(
      () => store.publish({ services: new Map([['web', orders]]), gatewayRoutes: [] }),
      (e: unknown) => e instanceof InvalidInputError && e.message === 'services["web"]: holds the endpoint set of "orders"',
    );
    assert.equal(store.current('envoy-gateway'), before);
    assert.deepEqual(calls, []);
  });

  test('a service whose name cannot name resources is left out with a note, the rest is served', () => {
    const store = new SnapshotStore();
    const odd = set('bad name', [ep('10.0.0.9')]);
    const result = publish(store, state([orders, odd]));
    const note = 'service "bad name" left out: its name cannot name xDS resources (1–253 letters, digits, ".", "-", "_", starting and ending with a letter or digit)';
    assert.deepEqual(result.notes, [note]);
    assert.deepEqual(names(store.current('proxyless-grpc')).listener, ['orders']);
    assert.deepEqual(publish(store, state([orders, odd])).notes, []);
    assert.deepEqual(store.notes(), [note]);
  });

  test('notes of rebuilt services are returned and kept until the service is fixed', () => {
    const store = new SnapshotStore();
    const result = publish(store, state([set('orders', [ep('10.0.0.1'), ep('db.internal')])]));
    assert.deepEqual(result.notes, ['service orders: endpoint vm-db.internal left out: address "db.internal" is not an IP literal']);
    assert.deepEqual(store.notes(), result.notes);
    publish(store, state([orders]));
    assert.deepEqual(store.notes(), []);
  });

  test('a gateway rule for a missing service gets a placeholder until the service appears', () => {
    const store = new SnapshotStore();
    const rules = [{ pathPrefix: '/', service: 'orders' }];
    publish(store, state([], rules));
    const placeholder = store.current('envoy-gateway').resources.endpoint.get('orders');
    assert.ok(placeholder);
    assert.deepEqual(names(store.current('proxyless-grpc')).cluster, []);
    publish(store, state([orders], rules));
    assert.notEqual(store.current('envoy-gateway').resources.endpoint.get('orders'), placeholder);
    assert.deepEqual(names(store.current('proxyless-grpc')).cluster, ['orders']);
  });

  test('a throwing listener does not stop the others; its error is rethrown after publishing, or handed to onListenerError', () => {
    const store = new SnapshotStore();
    const seen: string[] = [];
    store.onChange(() => {
      throw new Error('boom');
    });
    store.onChange(() => seen.push('second'));
    assert.throws(() => store.publish(state([orders])), /^Error: boom$/);
    assertLoads(store);
    assert.deepEqual(seen, ['second']);
    assert.deepEqual(names(store.current('proxyless-grpc')).listener, ['orders']);

    const errors: unknown[] = [];
    const quiet = new SnapshotStore({ onListenerError: (e) => errors.push(e) });
    quiet.onChange(() => {
      throw new Error('boom');
    });
    publish(quiet, state([orders]));
    assert.equal(errors.length, 1);
  });

  test('unsubscribed listeners are not called', () => {
    const store = new SnapshotStore();
    const calls: number[] = [];
    const off = store.onChange(() => calls.push(1));
    off();
    publish(store, state([orders]));
    assert.deepEqual(calls, []);
  });

  test('snapshotToJson shows every resource decoded, with typed configs by @type', () => {
    const store = new SnapshotStore();
    publish(store, state([orders]));
    const json = snapshotToJson(store.current('proxyless-grpc'));
    assert.equal(json.version, store.current('proxyless-grpc').version);
    const listener = json.resources.listener[0]!;
    assert.equal(listener.name, 'orders');
    assert.equal(listener.version, store.current('proxyless-grpc').resources.listener.get('orders')!.version);
    const hcm = (listener.resource.api_listener as { api_listener: Record<string, unknown> }).api_listener;
    assert.equal(hcm['@type'], 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });
});
