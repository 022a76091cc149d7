/**
 * Properties of the snapshot store over random mesh states and sequences of them: snapshots are
 * whole, endpoints follow grpc-js's rules, unchanged services keep their encoded objects, and
 * versions change exactly when bytes do. Checks read the decoded bytes, not the builders' specs.
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import type { GatewayRoute, MeshState } from '../../src/relay/mesh-state';
import type { ResourceBuildOptions } from '../../src/relay/resources/build-options';
import type { Snapshot } from '../../src/relay/snapshot/snapshot-types';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { XDS_KINDS } from '../../src/relay/xds/kinds';
import { type EncodedResource, RESOURCE_KINDS } from '../../src/relay/xds/resource-kind';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { assertEnvoyLoadsSnapshot, assertGrpcJsAccepts } from '../helpers/envoy-strict';

const PROFILES: readonly ClientProfile[] = ['envoy-gateway', 'proxyless-grpc'];
const SERVICES = ['web', 'api', 'orders', 'grpc-echo', 'cart'];

const addressArb = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 6 })).map(([a, b]) => `10.0.${a}.${b}`) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => `fd00::${n}`) },
  { weight: 1, arbitrary: fc.constantFrom('vm-1.internal', '', '10.0.0') },
);

const endpointArb: fc.Arbitrary<MeshEndpoint> = fc.record({
  address: addressArb,
  port: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(8080, 50051) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 70_000 }) }),
  zone: fc.constantFrom('', '1', '2', '3'),
  health: fc.constantFrom<EndpointHealth>('passing', 'warning', 'critical', 'draining'),
  weight: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 100 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 2.5, 1e9) }),
  instanceName: fc.constantFrom('vm_0', 'vm_1', 'vm_2', 'vm_3', 'vm_4'),
});

const setArb = (service: string): fc.Arbitrary<ServiceEndpointSet> =>
  fc.record(
    {
      service: fc.constant(service),
      consulIndex: fc.integer({ min: 1, max: 1000 }),
      protocol: fc.constantFrom('http', 'grpc', 'tcp'),
      healthPath: fc.constantFrom('/healthz', '/ready'),
      endpoints: fc.array(endpointArb, { maxLength: 8 }),
    },
    { requiredKeys: ['service', 'consulIndex', 'protocol', 'endpoints'] },
  );

const routesArb: fc.Arbitrary<GatewayRoute[]> = fc
  .array(
    fc.record(
      { host: fc.constantFrom('api.example.com', '*.example.com'), pathPrefix: fc.constantFrom('/', '/api', '/v2'), service: fc.constantFrom(...SERVICES, 'future') },
      { requiredKeys: ['pathPrefix', 'service'] },
    ),
    { maxLength: 4 },
  )
  .map((rules) => {
    const seen = new Set<string>();
    return rules.filter((r) => {
      const key = `${r.host ?? '*'} ${r.pathPrefix}`;
      return !seen.has(key) && (seen.add(key), true);
    });
  });

const stateArb: fc.Arbitrary<MeshState> = fc
  .tuple(fc.subarray(SERVICES).chain((names) => fc.tuple(...names.map(setArb))), routesArb)
  .map(([sets, gatewayRoutes]) => ({ services: new Map(sets.map((s) => [s.service, s])), gatewayRoutes }));

/** The next state: each service kept as is (same object or an equal copy with a new index), changed, added or removed. */
function nextStateArb(previous: MeshState): fc.Arbitrary<MeshState> {
  const perService = SERVICES.map((name) => {
    const before = previous.services.get(name);
    const options: Array<fc.Arbitrary<ServiceEndpointSet | undefined>> = [fc.constant(undefined), setArb(name)];
    if (before) options.push(fc.constant(before), fc.constant({ ...before, consulIndex: before.consulIndex + 1, endpoints: [...before.endpoints] }));
    return fc.oneof(...options);
  });
  return fc.tuple(fc.tuple(...perService), fc.oneof(fc.constant(previous.gatewayRoutes), routesArb)).map(([sets, gatewayRoutes]) => ({
    services: new Map(sets.filter((s): s is ServiceEndpointSet => s !== undefined).map((s) => [s.service, s])),
    gatewayRoutes,
  }));
}

const optionsArb: fc.Arbitrary<ResourceBuildOptions> = fc.record({ routeConfigMode: fc.constantFrom('rds' as const, 'inline' as const), onlyPassing: fc.boolean() });

type Decoded = Record<string, unknown>;

function decode(resource: EncodedResource): Decoded {
  const type = envoyType(XDS_KINDS[resource.kind].typeName);
  return type.toObject(type.decode(resource.bytes), { json: true, enums: String, longs: Number, defaults: true });
}

const asList = (v: unknown): Decoded[] => (Array.isArray(v) ? (v as Decoded[]) : []);
const asRecord = (v: unknown): Decoded => (typeof v === 'object' && v !== null ? (v as Decoded) : {});

function routeClusters(routeConfig: Decoded): string[] {
  return asList(routeConfig.virtual_hosts).flatMap((vh) => asList(vh.routes).map((r) => String(asRecord(r.route).cluster)));
}

/** The snapshot's cross references, read from the decoded resources independently of the store's own check. */
function assertWhole(snapshot: Snapshot): void {
  const has = (kind: (typeof RESOURCE_KINDS)[number], name: string) => snapshot.resources[kind].has(name);
  for (const listener of snapshot.resources.listener.values()) {
    const d = decode(listener);
    const hcms = [asRecord(asRecord(d.api_listener).api_listener), ...asList(d.filter_chains).flatMap((c) => asList(c.filters).map((f) => asRecord(f.typed_config)))].filter((h) => h['@type']);
    assert.ok(hcms.length > 0, `listener ${listener.name} has an HttpConnectionManager`);
    for (const hcm of hcms) {
      const filters = asList(hcm.http_filters);
      assert.equal(asRecord(filters.at(-1)?.typed_config)['@type'], 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
      const rds = asRecord(hcm.rds);
      if (rds.route_config_name !== undefined) assert.ok(has('route', String(rds.route_config_name)), `route ${String(rds.route_config_name)} exists`);
      else for (const c of routeClusters(asRecord(hcm.route_config))) assert.ok(has('cluster', c), `cluster ${c} of inline routes exists`);
    }
  }
  for (const route of snapshot.resources.route.values()) for (const c of routeClusters(decode(route))) assert.ok(has('cluster', c), `cluster ${c} of ${route.name} exists`);
  for (const cluster of snapshot.resources.cluster.values()) {
    const d = decode(cluster);
    assert.equal(d.type, 'EDS');
    assert.ok(asRecord(asRecord(d.eds_cluster_config).eds_config).ads, 'EDS over ADS');
    assert.ok(has('endpoint', cluster.name), `cluster ${cluster.name} has its ClusterLoadAssignment`);
  }
  for (const name of snapshot.resources.endpoint.keys()) assert.ok(has('cluster', name), `assignment ${name} has its cluster`);
}

const EXPECTED_STATUS: Record<EndpointHealth, [string, string]> = {
  passing: ['HEALTHY', 'HEALTHY'],
  warning: ['HEALTHY', 'UNHEALTHY'],
  critical: ['UNHEALTHY', 'UNHEALTHY'],
  draining: ['DRAINING', 'DRAINING'],
};
const RANK: Record<EndpointHealth, number> = { passing: 0, warning: 1, draining: 2, critical: 3 };

function assertEndpointsFollowGrpcRules(set: ServiceEndpointSet, cla: Decoded, onlyPassing: boolean): void {
  const localities = asList(cla.endpoints);
  const priorities = new Set(localities.map((l) => Number(l.priority)));
  assert.deepEqual([...priorities].sort(), [...Array(priorities.size).keys()], 'priorities contiguous from 0');
  const served = new Map<string, string>();
  for (const locality of localities) {
    assert.ok(Number(asRecord(locality.load_balancing_weight).value) >= 1, 'every locality has a weight');
    for (const lb of asList(locality.lb_endpoints)) {
      const socket = asRecord(asRecord(asRecord(lb.endpoint).address).socket_address);
      assert.notEqual(isIP(String(socket.address)), 0, `${String(socket.address)} is an IP literal`);
      const key = `${String(socket.address)}|${Number(socket.port_value)}`;
      assert.ok(!served.has(key), `${key} served once`);
      assert.ok(Number(asRecord(lb.load_balancing_weight).value) >= 1);
      served.set(key, String(lb.health_status));
    }
  }
  const valid = set.endpoints.filter((e) => isIP(e.address) !== 0 && Number.isInteger(e.port) && e.port >= 1 && e.port <= 65_535);
  const expected = new Map<string, MeshEndpoint>();
  for (const e of valid) {
    const key = `${e.address}|${e.port}`;
    const kept = expected.get(key);
    if (!kept || RANK[e.health] < RANK[kept.health]) expected.set(key, e);
  }
  assert.deepEqual(
    new Map([...served].sort()),
    new Map([...expected].map(([k, e]) => [k, EXPECTED_STATUS[e.health][onlyPassing ? 1 : 0]] as const).sort()),
  );
}

describe('snapshot store properties', () => {
  test('every published snapshot is whole, accepted by grpc-js-xds, and its endpoints follow grpc-js rules', () => {
    fc.assert(
      fc.property(stateArb, optionsArb, (state, options) => {
        const store = new SnapshotStore(options);
        store.publish(state);
        for (const profile of PROFILES) {
          const snapshot = store.current(profile);
          assertWhole(snapshot);
          assertEnvoyLoadsSnapshot(profile, snapshot);
          for (const kind of RESOURCE_KINDS) for (const [name, r] of snapshot.resources[kind]) assertGrpcJsAccepts(kind, name, r.bytes);
        }
        for (const set of state.services.values()) {
          assertEndpointsFollowGrpcRules(set, decode(store.current('proxyless-grpc').resources.endpoint.get(set.service)!), options.onlyPassing === true);
        }
      }),
      { numRuns: 120 },
    );
  });

  test('across publishes: unchanged services keep their objects, versions change iff bytes change, listeners hear exactly the changed profiles', () => {
    const sequenceArb = stateArb.chain((first) =>
      fc.array(fc.constant(null), { minLength: 1, maxLength: 4 }).chain((slots) =>
        slots.reduce<fc.Arbitrary<MeshState[]>>((acc) => acc.chain((states) => nextStateArb(states.at(-1)!).map((next) => [...states, next])), fc.constant([first])),
      ),
    );
    fc.assert(
      fc.property(sequenceArb, optionsArb, (states, options) => {
        const store = new SnapshotStore(options);
        const heard: ClientProfile[][] = [];
        store.onChange((profiles) => heard.push([...profiles].sort()));
        const bytesByVersion = new Map<string, string>();
        const versionByBytes = new Map<string, string>();
        let previous: MeshState | undefined;
        for (const state of states) {
          const before = Object.fromEntries(PROFILES.map((p) => [p, store.current(p)])) as Record<ClientProfile, Snapshot>;
          heard.length = 0;
          const result = store.publish(state);
          const changed = PROFILES.filter((p) => store.current(p) !== before[p]);
          assert.deepEqual([...result.changed].sort(), changed);
          assert.deepEqual(heard, changed.length > 0 ? [changed] : []);
          for (const profile of PROFILES) {
            const snapshot = store.current(profile);
            const ids = (s: Snapshot) => RESOURCE_KINDS.flatMap((k) => [...s.resources[k].values()].map((r) => `${k}/${r.name}@${r.version}`)).join(',');
            assert.equal(snapshot.version === before[profile].version, ids(snapshot) === ids(before[profile]), 'snapshot version changes iff a resource does');
            for (const kind of RESOURCE_KINDS) {
              for (const [name, r] of snapshot.resources[kind]) {
                const id = `${profile} ${kind}/${name}`;
                const hex = Buffer.from(r.bytes).toString('hex');
                const seenBytes = bytesByVersion.get(`${id}@${r.version}`);
                if (seenBytes !== undefined) assert.equal(seenBytes, hex, `${id}: same version, same bytes`);
                bytesByVersion.set(`${id}@${r.version}`, hex);
                const seenVersion = versionByBytes.get(`${id}#${hex}`);
                if (seenVersion !== undefined) assert.equal(seenVersion, r.version, `${id}: same bytes, same version`);
                versionByBytes.set(`${id}#${hex}`, r.version);
                const old = before[profile].resources[kind].get(name);
                if (old && old.version === r.version) assert.equal(old, r, `${id}: unchanged bytes keep the same object`);
              }
            }
          }
          if (previous) {
            for (const [name, set] of state.services) {
              const old = previous.services.get(name);
              const sameContent = old !== undefined && JSON.stringify({ ...old, consulIndex: 0 }) === JSON.stringify({ ...set, consulIndex: 0 });
              if (!sameContent) continue;
              assert.ok(!result.rebuiltServices.includes(name), `${name} is not rebuilt`);
              const px = store.current('proxyless-grpc');
              for (const kind of RESOURCE_KINDS) {
                const now = px.resources[kind].get(name);
                if (now) assert.equal(now, before['proxyless-grpc'].resources[kind].get(name), `${kind} ${name} is the same object`);
              }
            }
          }
          previous = state;
        }
      }),
      { numRuns: 80 },
    );
  });
});
