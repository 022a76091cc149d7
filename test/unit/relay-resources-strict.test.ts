/**
 * Every resource the relay emits is known to Envoy's protos field by field (before and after the
 * wire), loses nothing in encoding, and is accepted by grpc-js-xds's own validators; the strict
 * checker itself catches what protobufjs lets through.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import type { MeshState } from '../../src/relay/mesh-state';
import { resolveBuildOptions, type ResourceBuildOptions } from '../../src/relay/resources/build-options';
import { encodeResource } from '../../src/relay/xds/encode';
import { XDS_KINDS } from '../../src/relay/xds/kinds';
import { RESOURCE_KINDS } from '../../src/relay/xds/resource-kind';
import { buildProfileSpecs } from '../../src/relay/resources/profile-resources';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { assertGrpcJsAccepts, assertKnownToEnvoy, grpcJsDecode, strictProblems } from '../helpers/envoy-strict';

function endpoint(address: string, zone: string, health: MeshEndpoint['health'], weight = 1): MeshEndpoint {
  return { address, port: 50051, zone, health, weight, instanceName: `vm-${address}` };
}

function set(service: string, protocol: string, endpoints: MeshEndpoint[], healthPath?: string): ServiceEndpointSet {
  return { service, consulIndex: 7, protocol, ...(healthPath ? { healthPath } : {}), endpoints };
}

/** Every branch of the builders: gRPC and HTTP, health paths, zones, all health states, IPv6, host rules, a placeholder service. */
const RICH_STATE: MeshState = {
  services: new Map([
    ['orders', set('orders', 'grpc', [endpoint('10.0.0.4', '1', 'passing'), endpoint('10.0.0.5', '2', 'warning', 3), endpoint('10.0.0.6', '', 'draining')], '/healthz')],
    ['web', set('web', 'http', [endpoint('fd00::7', '3', 'critical'), endpoint('10.0.1.8', '3', 'passing', 70_000)], '/ready')],
    ['batch', set('batch', 'tcp', [])],
  ]),
  gatewayRoutes: [
    { pathPrefix: '/', service: 'web' },
    { host: 'api.example.com', pathPrefix: '/orders', service: 'orders' },
    { host: '*.example.com', pathPrefix: '/v2', service: 'future' },
  ],
};

/** An empty repeated field is not on the wire: it decodes as absent. */
function withoutEmptyLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyLists);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => [k, withoutEmptyLists(v)]),
  );
}

const MODES: ResourceBuildOptions[] = [{}, { routeConfigMode: 'inline', onlyPassing: true, localityRegion: 'westeurope', outlierDetection: false }];

describe('every emitted resource', () => {
  for (const options of MODES) {
    const label = JSON.stringify(options);
    const profiles = buildProfileSpecs(RICH_STATE, resolveBuildOptions(options));

    test(`specs use only fields Envoy knows ${label}`, () => {
      for (const byKind of Object.values(profiles)) {
        for (const kind of RESOURCE_KINDS) for (const spec of byKind[kind]) assertKnownToEnvoy(XDS_KINDS[kind].typeName, spec);
      }
    });

    test(`decode back to exactly their spec (nothing dropped by encoding) ${label}`, () => {
      for (const byKind of Object.values(profiles)) {
        for (const kind of RESOURCE_KINDS) {
          for (const spec of byKind[kind]) {
            const type = envoyType(XDS_KINDS[kind].typeName);
            const decoded = type.toObject(type.decode(encodeResource(kind, spec).bytes), { json: true, enums: String, longs: Number });
            assert.deepEqual(decoded, withoutEmptyLists(spec));
          }
        }
      }
    });

    test(`published bytes decode to objects the strict check and grpc-js-xds accept ${label}`, () => {
      const store = new SnapshotStore(options);
      store.publish(RICH_STATE);
      let checked = 0;
      for (const profile of ['envoy-gateway', 'proxyless-grpc'] as const) {
        for (const kind of RESOURCE_KINDS) {
          for (const [name, resource] of store.current(profile).resources[kind]) {
            const type = envoyType(XDS_KINDS[kind].typeName);
            // {type_url, value} Anys this time: the checker decodes and checks the embedded messages.
            assertKnownToEnvoy(XDS_KINDS[kind].typeName, type.toObject(type.decode(resource.bytes), { enums: String, longs: String, oneofs: true }));
            assertGrpcJsAccepts(kind, name, resource.bytes);
            checked += 1;
          }
        }
      }
      // gateway: listener, route, 4 clusters + 4 CLAs (one placeholder); proxyless: 3 × (listener, cluster, CLA) + 3 routes in RDS mode
      assert.equal(checked, 10 + (options.routeConfigMode === 'inline' ? 9 : 12));
    });
  }
});

describe('strict checker', () => {
  const cluster = 'envoy.config.cluster.v3.Cluster';

  test('accepts a well-formed cluster', () => {
    assert.deepEqual(strictProblems(cluster, { name: 'a', type: 'EDS', connect_timeout: { seconds: 1, nanos: 0 }, eds_cluster_config: { eds_config: { ads: {} } } }), []);
  });

  test('catches a misspelt top-level field that protobufjs verify and fromObject let through', () => {
    const bad = { name: 'a', conect_timeout: { seconds: 1 } };
    const type = envoyType(cluster);
    assert.equal(type.verify(bad), null);
    assert.equal(type.toObject(type.fromObject(bad)).conect_timeout, undefined);
    assert.deepEqual(strictProblems(cluster, bad), ['Cluster.conect_timeout: envoy.config.cluster.v3.Cluster has no field "conect_timeout"']);
    assert.throws(() => assertKnownToEnvoy(cluster, bad), /not a valid envoy\.config\.cluster\.v3\.Cluster:\n {2}Cluster\.conect_timeout/);
  });

  test('catches a bad field deep inside a typed config (@type form) and a map value', () => {
    const listener = {
      name: 'l',
      api_listener: {
        api_listener: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefx: 'x',
          http_filters: [{ name: 'r', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', suppress: true } }],
        },
      },
    };
    assert.deepEqual(strictProblems('envoy.config.listener.v3.Listener', listener), [
      'Listener.api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.stat_prefx: envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager has no field "stat_prefx"',
      'Listener.api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.http_filters[0].typed_config<envoy.extensions.filters.http.router.v3.Router>.suppress: envoy.extensions.filters.http.router.v3.Router has no field "suppress"',
    ]);
    const withMap = { name: 'a', typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit: {} } } };
    assert.deepEqual(strictProblems(cluster, withMap), [
      'Cluster.typed_extension_protocol_options["x"]<envoy.extensions.upstreams.http.v3.HttpProtocolOptions>.explicit: envoy.extensions.upstreams.http.v3.HttpProtocolOptions has no field "explicit"',
    ]);
  });

  test('catches unknown type URLs in both Any forms, and extra keys beside type_url/value', () => {
    const router = envoyType('envoy.extensions.filters.http.router.v3.Router');
    const hcm = (typedConfig: unknown) => ({ http_filters: [{ name: 'r', typed_config: typedConfig }] });
    const hcmType = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
    assert.deepEqual(strictProblems(hcmType, hcm({ '@type': 'type.googleapis.com/envoy.Nope' })), [
      'HttpConnectionManager.http_filters[0].typed_config.@type: "type.googleapis.com/envoy.Nope" names no message type in Envoy\'s protos',
    ]);
    assert.deepEqual(strictProblems(hcmType, hcm({ type_url: 'type.googleapis.com/envoy.Nope', value: new Uint8Array() })), [
      'HttpConnectionManager.http_filters[0].typed_config.type_url: "type.googleapis.com/envoy.Nope" names no message type in Envoy\'s protos',
    ]);
    const bytes = router.encode(router.fromObject({ suppress_envoy_headers: true })).finish();
    assert.deepEqual(strictProblems(hcmType, hcm({ type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', value: bytes })), []);
    assert.deepEqual(strictProblems(hcmType, hcm({ type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', value: bytes, extra: 1 })), [
      'HttpConnectionManager.http_filters[0].typed_config.extra: google.protobuf.Any has no field "extra"',
    ]);
  });

  test('catches enum values, both members of a oneof, wrong scalar types, non-arrays and nulls', () => {
    const bad = {
      name: 7,
      type: 'EDSS',
      cluster_type: { name: 'x' },
      lb_policy: 99,
      health_checks: { timeout: { seconds: 1 } },
      connect_timeout: { seconds: 'soon' },
      per_connection_buffer_limit_bytes: { value: -1 },
      metadata: null,
    };
    assert.deepEqual(strictProblems(cluster, bad), [
      'Cluster.name: expected a string, got 7',
      'Cluster.type: "EDSS" is not a value of enum envoy.config.cluster.v3.Cluster.DiscoveryType',
      'Cluster.cluster_type: oneof cluster_discovery_type already has type',
      'Cluster.lb_policy: 99 is not a value of enum envoy.config.cluster.v3.Cluster.LbPolicy',
      'Cluster.health_checks: expected an array (repeated field)',
      'Cluster.connect_timeout.seconds: expected a decimal integer string, got "soon"',
      'Cluster.per_connection_buffer_limit_bytes.value: expected an unsigned 32-bit integer, got -1',
      'Cluster.metadata: null (leave the field out instead)',
    ]);
  });

  test('the oneof marker toObject adds is accepted only when it names the member that is set', () => {
    const decodedLike = { name: 'a', type: 'EDS', cluster_discovery_type: 'type' };
    assert.deepEqual(strictProblems(cluster, decodedLike), []);
    assert.deepEqual(strictProblems(cluster, { name: 'a', cluster_discovery_type: 'type' }), [
      'Cluster.cluster_discovery_type: envoy.config.cluster.v3.Cluster has no field "cluster_discovery_type"',
    ]);
  });
});

describe('grpc-js-xds acceptance helper', () => {
  test('reports grpc-js-xds\'s NACK for a resource it rejects', () => {
    // A locality without load_balancing_weight is accepted but dropped; duplicate addresses are rejected.
    const cla = encodeResource('endpoint', {
      cluster_name: 'x',
      endpoints: [
        {
          locality: { zone: '1' },
          load_balancing_weight: { value: 1 },
          lb_endpoints: [0, 1].map(() => ({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } })),
        },
      ],
    });
    const verdict = grpcJsDecode('endpoint', cla.bytes);
    assert.equal(verdict.name, 'x');
    assert.match(verdict.error ?? '', /address is a duplicate of another address in the same endpoint: 10\.0\.0\.1/);
    assert.throws(() => assertGrpcJsAccepts('endpoint', 'x', cla.bytes), /grpc-js-xds rejects endpoint x: ClusterLoadAssignment message validation failed/);
  });
});
