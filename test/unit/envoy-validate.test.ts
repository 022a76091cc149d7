/**
 * What Envoy checks when it loads configuration, applied offline (test/helpers/envoy-validate):
 * every snapshot variety the relay builds and the `bootstrap envoy` document pass; and every rule
 * family (on Envoy's own messages; the rest in envoy-validate-rules.test.ts) and every semantic
 * check is proven by injecting one violation and finding it reported at the path of the offending
 * field.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { envoyBootstrap, runEnvoy } from '../../src/cli/bootstrap';
import type { CliIo } from '../../src/cli/command';
import type { MeshState } from '../../src/relay/mesh-state';
import { DEFAULT_HEALTH_CHECK, resolveBuildOptions, type ResourceBuildOptions } from '../../src/relay/resources/build-options';
import { buildGatewayCluster } from '../../src/relay/resources/clusters';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { encodeResource } from '../../src/relay/xds/encode';
import { RESOURCE_KINDS, type ResourceKind } from '../../src/relay/xds/resource-kind';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import { ConfigError } from '../../src/shared/errors';
import { envoyRoot } from '../../src/relay/xds/envoy-protos';
import { assertEnvoyLoadsBootstrap, assertEnvoyLoadsSnapshot, assertGrpcJsAccepts, assertKnownToEnvoy } from '../helpers/envoy-strict';
import { pgvViolations, validateBootstrapJson, validateResource, validateSnapshot } from '../helpers/envoy-validate';
import type { Violation } from '../helpers/envoy-validate/pgv';

const PROFILES: readonly ClientProfile[] = ['envoy-gateway', 'proxyless-grpc'];

function endpoint(address: string, zone: string, health: EndpointHealth, weight = 1, port = 50051): MeshEndpoint {
  return { address, port, zone, health, weight, instanceName: `vm-${address}` };
}

function set(service: string, protocol: string, endpoints: MeshEndpoint[], healthPath?: string): ServiceEndpointSet {
  return { service, consulIndex: 3, protocol, ...(healthPath ? { healthPath } : {}), endpoints };
}

function state(sets: ServiceEndpointSet[], gatewayRoutes: MeshState['gatewayRoutes'] = []): MeshState {
  return { services: new Map(sets.map((s) => [s.service, s])), gatewayRoutes };
}

const VARIETIES: ReadonlyArray<readonly [string, MeshState]> = [
  ['no services at all', state([])],
  ['one service with zero endpoints', state([set('orders', 'grpc', [], '/healthz')])],
  ['several services with zero endpoints', state([set('orders', 'grpc', []), set('web', 'http', []), set('batch', 'tcp', [])])],
  ['draining and unhealthy endpoints only', state([set('web', 'http', [endpoint('10.0.0.1', '1', 'draining'), endpoint('10.0.0.2', '1', 'critical'), endpoint('10.0.0.3', '2', 'warning')], '/ready')])],
  [
    'several zones, regional instances, IPv6, heavy weights',
    state([set('orders', 'grpc', [endpoint('10.0.0.4', '1', 'passing'), endpoint('10.0.0.5', '2', 'passing', 100), endpoint('10.0.0.6', '3', 'warning', 70_000), endpoint('fd00::9', '', 'passing'), endpoint('10.0.0.7', '', 'draining')], '/healthz')]),
  ],
  [
    'gateway routing rules: host-specific, wildcard, any-host, a service not in the mesh',
    state(
      [set('orders', 'grpc', [endpoint('10.0.0.4', '1', 'passing')]), set('web', 'http', [endpoint('10.0.1.4', '2', 'passing', 1, 8080)], '/ready')],
      [
        { pathPrefix: '/', service: 'web' },
        { host: 'api.example.com', pathPrefix: '/orders', service: 'orders' },
        { host: 'API.example.com', pathPrefix: '/v1', service: 'web' },
        { host: '*.example.com', pathPrefix: '/v2', service: 'future' },
        { host: 'shop.*', pathPrefix: '/', service: 'web' },
        { host: '[fd00::1]', pathPrefix: '/x', service: 'orders' },
      ],
    ),
  ],
  ['services whose names differ only in case (one Host each)', state([set('Orders', 'http', [endpoint('10.0.0.1', '1', 'passing')]), set('orders', 'http', [endpoint('10.0.0.2', '1', 'passing')])])],
];

const OPTIONS: readonly ResourceBuildOptions[] = [
  {},
  { routeConfigMode: 'inline', onlyPassing: true, localityRegion: 'westeurope', outlierDetection: false },
  { gatewayListenerPort: 80, gatewayListenerAddress: '::', connectTimeoutMs: 250, outlierDetection: { consecutive5xx: 1, intervalMs: 1, baseEjectionTimeMs: 1, maxEjectionPercent: 100 }, healthCheck: { intervalMs: 1, timeoutMs: 1 } },
];

describe('every snapshot the relay builds loads in Envoy', () => {
  for (const options of OPTIONS) {
    for (const [label, mesh] of VARIETIES) {
      test(`${label} ${JSON.stringify(options)}`, () => {
        const store = new SnapshotStore(options);
        store.publish(mesh);
        let resources = 0;
        for (const profile of PROFILES) {
          const snapshot = store.current(profile);
          assertEnvoyLoadsSnapshot(profile, snapshot);
          for (const kind of RESOURCE_KINDS) {
            for (const [name, resource] of snapshot.resources[kind]) {
              assertGrpcJsAccepts(kind, name, resource.bytes);
              resources += 1;
            }
          }
        }
        // The gateway always has its listener and route configuration.
        assert.ok(resources >= 2);
      });
    }
  }

  test('the case-colliding services used to break Envoy (regression): only the first gets the Host', () => {
    const store = new SnapshotStore({});
    store.publish(VARIETIES.find(([l]) => l.startsWith('services whose names differ only in case'))![1]);
    const route = store.current('envoy-gateway').resources.route.get('vmss-mesh-gateway')!;
    const type = envoyRoot().lookupType('envoy.config.route.v3.RouteConfiguration');
    const decoded = type.toObject(type.decode(route.bytes)) as { virtual_hosts: Array<{ domains: string[] }> };
    assert.deepEqual(decoded.virtual_hosts.map((v) => v.domains), [['Orders'], ['*']]);
  });
});

function capture(): { io: CliIo; stdout: () => string } {
  const out = new PassThrough();
  let text = '';
  out.setEncoding('utf8').on('data', (c: string) => (text += c));
  return { io: { stdin: new PassThrough(), stdout: out, stderr: new PassThrough(), env: {}, cwd: process.cwd() }, stdout: () => text };
}

describe('the bootstrap `vmss-mesh bootstrap envoy` prints loads in Envoy', () => {
  for (const args of [[], ['--sotw'], ['--delta', '--zone', '2', '--admin-address', '[::1]:9902'], ['--relay', 'relay.mesh.internal:18000', '--sotw']]) {
    test(`bootstrap envoy ${args.join(' ')}`, async () => {
      const { io, stdout } = capture();
      assert.equal(await runEnvoy(['--node-id', 'gw-1', ...args], io), 0);
      const document = JSON.parse(stdout()) as Record<string, unknown>;
      assertEnvoyLoadsBootstrap(document);
      const mode = (document.dynamic_resources as { ads_config: { api_type: string } }).ads_config.api_type;
      assert.equal(mode, args.includes('--sotw') ? 'GRPC' : 'DELTA_GRPC');
    });
  }
});

// ---- proving the checks: one injected violation per rule family -------------------------------

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const HCM_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const ADS = { ads: {}, resource_api_version: 'V3' };

function goodCluster(): Record<string, unknown> {
  return { name: 'orders', type: 'EDS', connect_timeout: { seconds: 1 }, eds_cluster_config: { eds_config: ADS }, lb_policy: 'ROUND_ROBIN' };
}

function listener(hcm: Record<string, unknown>): Record<string, unknown> {
  return { name: 'orders', api_listener: { api_listener: { '@type': HCM_URL, stat_prefix: 'orders', rds: { config_source: ADS, route_config_name: 'orders' }, http_filters: [ROUTER], ...hcm } } };
}

function rules(violations: readonly Violation[]): string[] {
  return violations.map((v) => `${v.path} ${v.rule}`);
}

describe('PGV rules on Envoy resources: each family caught at its path', () => {
  const cases: ReadonlyArray<readonly [string, string, Record<string, unknown>, readonly string[]]> = [
    ['string.min_len', CLUSTER, { ...goodCluster(), name: '' }, ['Cluster.name string.min_len']],
    ['duration.gt', CLUSTER, { ...goodCluster(), connect_timeout: { seconds: 0 } }, ['Cluster.connect_timeout duration.gt']],
    ['enum.defined_only', CLUSTER, { ...goodCluster(), lb_policy: 99 }, ['Cluster.lb_policy enum.defined_only']],
    ['uint32.lte', CLUSTER, { ...goodCluster(), outlier_detection: { max_ejection_percent: { value: 101 } } }, ['Cluster.outlier_detection.max_ejection_percent uint32.lte']],
    ['double.gte+lte (a wrapper-free double)', CLUSTER, { ...goodCluster(), common_lb_config: { healthy_panic_threshold: { value: 100.5 } } }, ['Cluster.common_lb_config.healthy_panic_threshold.value double.gte+lte']],
    [
      'message.required, duration.required, oneof.required, enum.not_in, well_known_regex (strict)',
      CLUSTER,
      { ...goodCluster(), health_checks: [{ interval: { seconds: 5 }, healthy_threshold: { value: 1 } }, { timeout: { seconds: 1 }, interval: { seconds: 1 }, unhealthy_threshold: { value: 1 }, healthy_threshold: { value: 1 }, http_health_check: { path: '/x\u0001', method: 'CONNECT' } }] },
      [
        'Cluster.health_checks[0].timeout duration.required',
        'Cluster.health_checks[0].unhealthy_threshold message.required',
        'Cluster.health_checks[0].health_checker oneof.required',
        'Cluster.health_checks[1].http_health_check.path string.well_known_regex',
        'Cluster.health_checks[1].http_health_check.method enum.not_in',
      ],
    ],
    [
      'uint32.gte and uint32.lte inside repeated messages',
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      { cluster_name: 'x', endpoints: [{ priority: 129, load_balancing_weight: { value: 0 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '', port_value: 70_000 } } }, load_balancing_weight: { value: 0 } }] }] },
      [
        'ClusterLoadAssignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address string.min_len',
        'ClusterLoadAssignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value uint32.lte',
        'ClusterLoadAssignment.endpoints[0].lb_endpoints[0].load_balancing_weight uint32.gte',
        'ClusterLoadAssignment.endpoints[0].load_balancing_weight uint32.gte',
        'ClusterLoadAssignment.endpoints[0].priority uint32.lte',
      ],
    ],
    [
      'repeated.min_items, repeated.items (non-strict header value), string.pattern, message.required',
      'envoy.config.route.v3.RouteConfiguration',
      { name: 'r', virtual_hosts: [{ name: 'a', domains: [] }, { name: 'b', domains: ['ok', 'bad\nhost'], routes: [{ match: { path_separated_prefix: '/a/' }, route: { cluster: 'c' } }, { route: { cluster: 'c' } }] }] },
      [
        'RouteConfiguration.virtual_hosts[0].domains repeated.min_items',
        'RouteConfiguration.virtual_hosts[1].domains[1] string.well_known_regex',
        'RouteConfiguration.virtual_hosts[1].routes[0].match.path_separated_prefix string.pattern',
        'RouteConfiguration.virtual_hosts[1].routes[1].match message.required',
      ],
    ],
    ['string.in', 'envoy.config.core.v3.SchemeHeaderTransformation', { scheme_to_overwrite: 'ftp' }, ['SchemeHeaderTransformation.scheme_to_overwrite string.in']],
    ['string.max_bytes and header name (non-strict) in a repeated message', 'envoy.config.core.v3.HeaderValue', { key: 'a\rb', value: 'x'.repeat(16_385) }, ['HeaderValue.key string.well_known_regex', 'HeaderValue.value string.max_bytes']],
    [
      'inside a typed config (Any): HCM stat_prefix, a required oneof, the filter name',
      'envoy.config.listener.v3.Listener',
      { name: 'l', api_listener: { api_listener: { '@type': HCM_URL, stat_prefix: '', http_filters: [{ name: '', typed_config: ROUTER.typed_config }] } } },
      [
        'Listener.api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.stat_prefix string.min_len',
        'Listener.api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.http_filters[0].name string.min_len',
        'Listener.api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.route_specifier oneof.required',
      ],
    ],
    ['an Any whose type URL names nothing Envoy knows', 'envoy.config.listener.v3.Listener', { name: 'l', api_listener: { api_listener: { type_url: 'type.googleapis.com/envoy.Nope', value: new Uint8Array() } } }, ['Listener.api_listener.api_listener any.type_url']],
    ['any.required on a message that is not an Any (Envoy: ExtensionConfigSource.config_source)', 'envoy.config.core.v3.ExtensionConfigSource', { type_urls: ['type.googleapis.com/x'] }, ['ExtensionConfigSource.config_source any.required']],
    ['Envoy duration range (negative)', CLUSTER, { ...goodCluster(), connect_timeout: { seconds: 1 }, dns_refresh_rate: { seconds: -1 } }, ['Cluster.dns_refresh_rate envoy.duration_range', 'Cluster.dns_refresh_rate duration.gt']],
  ];
  for (const [label, typeName, value, expected] of cases) {
    test(label, () => {
      const found = rules(pgvViolations(typeName, value));
      assert.deepEqual([...found].sort(), [...expected].sort());
      // The same violations from the encoded bytes (what the relay sends).
      const type = envoyRoot().lookupType(typeName);
      assert.deepEqual(rules(pgvViolations(typeName, type.encode(type.fromObject(value)).finish())).sort(), [...expected].sort());
    });
  }

  test("Envoy's duration limit: a negative Duration and one above 9 223 372 035 s are refused, the limit itself passes", () => {
    const at = (seconds: number | string) => rules(pgvViolations(CLUSTER, { ...goodCluster(), connect_timeout: { seconds } }));
    assert.deepEqual(at(9_223_372_035), []);
    assert.deepEqual(at('9223372036'), ['Cluster.connect_timeout envoy.duration_range']);
    // The largest connectTimeoutMs resolveBuildOptions admits is Envoy's limit: the builder's
    // cluster passes, and one millisecond more is refused when the options are resolved.
    const cluster = buildGatewayCluster({ service: 'orders', protocol: 'http' }, { connectTimeoutMs: 9_223_372_035_000, outlierDetection: false, healthCheck: DEFAULT_HEALTH_CHECK });
    assert.deepEqual(rules(pgvViolations(CLUSTER, cluster)), []);
    assert.deepEqual(errorsOf('cluster', cluster), []);
    assert.equal(resolveBuildOptions({ connectTimeoutMs: 9_223_372_035_000 }).connectTimeoutMs, 9_223_372_035_000);
    assert.throws(() => resolveBuildOptions({ connectTimeoutMs: 9_223_372_035_001 }), (e: unknown) => e instanceof ConfigError && e.setting === 'connectTimeoutMs' && /^connectTimeoutMs: /.test(e.message));
  });

  test('messages are read with their default values: an unset required string fails, an unset oneof member does not', () => {
    assert.deepEqual(rules(pgvViolations(CLUSTER, {})), ['Cluster.name string.min_len']);
  });
});

// ---- proving the semantic checks ---------------------------------------------------------------

function errorsOf(kind: ResourceKind, value: Record<string, unknown>, profile: ClientProfile = 'envoy-gateway'): string[] {
  return validateResource(kind, value, undefined, profile).findings.map((f) => `${f.path} ${f.check} ${f.severity}`);
}

describe('Envoy semantic checks: each caught at its path', () => {
  test('the HTTP filter chain must end with the router; an empty one only gRPC refuses (A39), Envoy routes nothing', () => {
    const hcmPath = 'Listener.api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>';
    const other = { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions' } };
    assert.deepEqual(errorsOf('listener', listener({ http_filters: [ROUTER, other] })), [`${hcmPath}.http_filters[0] hcm.router_last error`, `${hcmPath}.http_filters[1] hcm.router_last error`]);
    assert.deepEqual(errorsOf('listener', listener({ http_filters: [] }), 'proxyless-grpc'), [`${hcmPath}.http_filters hcm.router_last error`]);
    assert.deepEqual(errorsOf('listener', listener({ http_filters: [] })), [`${hcmPath}.http_filters hcm.router_last warning`]);
    assert.deepEqual(errorsOf('listener', listener({})), []);
  });

  test('the HTTP connection manager must be the last network filter', () => {
    const hcm = { '@type': HCM_URL, stat_prefix: 's', rds: { config_source: ADS, route_config_name: 'r' }, http_filters: [ROUTER] };
    const l = { name: 'gw', address: { socket_address: { address: '0.0.0.0', port_value: 8080 } }, filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm }, { name: 'hcm2', typed_config: hcm }] }] };
    assert.deepEqual(errorsOf('listener', l), ['Listener.filter_chains[0].filters[0] listener.terminal_filter_last error']);
  });

  test('filter chains of a listener have distinct matches; listeners of a snapshot distinct addresses', () => {
    const hcm = { '@type': HCM_URL, stat_prefix: 's', rds: { config_source: ADS, route_config_name: 'r' }, http_filters: [ROUTER] };
    const chain = (match?: Record<string, unknown>) => ({ ...(match ? { filter_chain_match: match } : {}), filters: [{ name: 'hcm', typed_config: hcm }] });
    const gw = (name: string, chains: unknown[]) => ({ name, address: { socket_address: { address: '0.0.0.0', port_value: 8080 } }, filter_chains: chains });
    assert.deepEqual(errorsOf('listener', gw('gw', [chain(), chain({ server_names: ['a'] }), chain({})])), ['Listener.filter_chains[2].filter_chain_match listener.filter_chain_match_unique error']);
    const resources = {
      listener: new Map([['gw-a', encodeResource('listener', gw('gw-a', [chain()]))], ['gw-b', encodeResource('listener', gw('gw-b', [chain()]))]]),
      route: new Map([['r', encodeResource('route', { name: 'r', virtual_hosts: [] })]]),
      cluster: new Map(),
      endpoint: new Map(),
    };
    assert.deepEqual(validateSnapshot('envoy-gateway', { version: 'v', resources }).findings.map((f) => `${f.path} ${f.check}`), ['Listener(gw-b).address snapshot.listener_address_unique']);
  });

  test('RDS and EDS config sources must be ADS (or self) and V3 or AUTO (v3), not V2; EDS clusters need an EDS config', () => {
    assert.deepEqual(errorsOf('listener', listener({ rds: { config_source: { path_config_source: { path: '/etc/r.yaml' }, resource_api_version: 'V3' }, route_config_name: 'r' } })), [
      'Listener.api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.rds.config_source config_source.ads error',
    ]);
    assert.deepEqual(errorsOf('cluster', { ...goodCluster(), eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V2' } } }), ['Cluster.eds_cluster_config.eds_config.resource_api_version config_source.v3 error']);
    // AUTO (unset) means v3 (config_source.proto).
    assert.deepEqual(errorsOf('cluster', { ...goodCluster(), eds_cluster_config: { eds_config: { ads: {} } } }), []);
    assert.deepEqual(errorsOf('cluster', { ...goodCluster(), eds_cluster_config: { eds_config: { self: {}, resource_api_version: 'V3' } } }), []);
    const { eds_cluster_config: _eds, ...noEds } = goodCluster();
    assert.deepEqual(errorsOf('cluster', noEds), ['Cluster.eds_cluster_config cluster.eds_config error']);
    assert.deepEqual(errorsOf('cluster', { ...goodCluster(), type: 'STATIC' }), ['Cluster.eds_cluster_config cluster.eds_config error']);
  });

  test('active health checks need timeout, interval and a checker; gRPC checks need HTTP/2', () => {
    const hc = { timeout: { seconds: 1 }, interval: { seconds: 5 }, unhealthy_threshold: { value: 1 }, healthy_threshold: { value: 1 } };
    assert.deepEqual(errorsOf('cluster', { ...goodCluster(), health_checks: [{ ...hc, http_health_check: { path: '/h' } }] }), []);
    assert.deepEqual(errorsOf('cluster', { ...goodCluster(), health_checks: [{ ...hc, timeout: undefined, interval: { seconds: 0 } }] }), [
      'Cluster.health_checks[0].timeout health_check.complete error',
      'Cluster.health_checks[0].interval health_check.complete error',
      'Cluster.health_checks[0] health_check.complete error',
    ]);
    assert.deepEqual(errorsOf('cluster', { ...goodCluster(), health_checks: [{ ...hc, grpc_health_check: {} }] }), ['Cluster.health_checks[0].grpc_health_check health_check.grpc_http2 error']);
    // Envoy's useHttp2: explicit or downstream-protocol config with HTTP/2 options, or any auto_config.
    const grpcCheckWith = (options: Record<string, unknown>) => {
      const typed = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', ...options } };
      return errorsOf('cluster', { ...goodCluster(), typed_extension_protocol_options: typed, health_checks: [{ ...hc, grpc_health_check: {} }] });
    };
    assert.deepEqual(grpcCheckWith({ explicit_http_config: { http2_protocol_options: {} } }), []);
    assert.deepEqual(grpcCheckWith({ use_downstream_protocol_config: { http2_protocol_options: {} } }), []);
    assert.deepEqual(grpcCheckWith({ auto_config: {} }), []);
    const noHttp2 = ['Cluster.health_checks[0].grpc_health_check health_check.grpc_http2 error'];
    assert.deepEqual(grpcCheckWith({ explicit_http_config: { http_protocol_options: {} } }), noHttp2);
    assert.deepEqual(grpcCheckWith({ use_downstream_protocol_config: { http_protocol_options: {} } }), noHttp2);
  });

  test('virtual host domains are unique within a route configuration (case-insensitively), and one "*"', () => {
    const config = { name: 'r', virtual_hosts: [{ name: 'a', domains: ['api.example.com', '*'] }, { name: 'b', domains: ['API.example.com', '*.example.com'] }, { name: 'c', domains: ['*', '*.EXAMPLE.com'] }] };
    assert.deepEqual(errorsOf('route', config), [
      'RouteConfiguration.virtual_hosts[1].domains[0] route.domains_unique error',
      'RouteConfiguration.virtual_hosts[2].domains[0] route.domains_unique error',
      'RouteConfiguration.virtual_hosts[2].domains[1] route.domains_unique error',
    ]);
  });

  test('weighted clusters: the weights must sum to more than 0 (an absent weight is 0), and stay within 32 bits', () => {
    const routeWith = (weights: ReadonlyArray<number | undefined>) => ({
      name: 'r',
      virtual_hosts: [{ name: 'a', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: weights.map((w, i) => ({ name: `c${i}`, ...(w === undefined ? {} : { weight: { value: w } }) })) } } }] }],
    });
    const sumError = 'RouteConfiguration.virtual_hosts[0].routes[0].route.weighted_clusters route.weighted_clusters_sum error';
    for (const profile of PROFILES) {
      assert.deepEqual(errorsOf('route', routeWith([0, 0]), profile), [sumError]);
      assert.deepEqual(errorsOf('route', routeWith([undefined, 0]), profile), [sumError]);
      assert.deepEqual(errorsOf('route', routeWith([0xffff_ffff, 1]), profile), [sumError]);
      assert.deepEqual(errorsOf('route', routeWith([90, 10, 0]), profile), []);
    }
  });

  test('references across a snapshot: RDS and EDS names resolve; a route to a missing cluster is an error for gRPC, a warning for the gateway (unless validate_clusters)', () => {
    const snapshot = (routeConfig: Record<string, unknown>) => {
      const resources = {
        listener: new Map([['orders', encodeResource('listener', listener({ rds: { config_source: ADS, route_config_name: 'missing-rds' } }))]]),
        route: new Map([['r', encodeResource('route', routeConfig)]]),
        cluster: new Map([['orders', encodeResource('cluster', goodCluster())]]),
        endpoint: new Map(),
      };
      return { version: 'v', resources };
    };
    const routes = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'gone' } }] }] };
    const gateway = validateSnapshot('envoy-gateway', snapshot(routes));
    assert.deepEqual(gateway.findings.map((f) => `${f.path} ${f.check} ${f.severity}`), [
      'Listener(orders).api_listener.api_listener<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.rds.route_config_name snapshot.rds_exists error',
      'RouteConfiguration(r).virtual_hosts[0].routes[0].route.cluster snapshot.route_cluster_exists warning',
      'Cluster(orders).eds_cluster_config snapshot.eds_exists error',
    ]);
    assert.equal(gateway.warnings.length, 1);
    assert.match(gateway.warnings[0]!, /routes to cluster "gone", which the snapshot does not have \(Envoy answers cluster_not_found_response_code, 503 by default\)/);
    assert.equal(validateSnapshot('proxyless-grpc', snapshot(routes)).findings[1]!.severity, 'error');
    assert.equal(validateSnapshot('envoy-gateway', snapshot({ ...routes, validate_clusters: { value: true } })).findings[1]!.severity, 'error');
    // Inline in the HCM, validate_clusters defaults to true: an error even for the gateway.
    const inline = {
      version: 'v',
      resources: {
        listener: new Map([['orders', encodeResource('listener', listener({ rds: undefined, route_config: routes }))]]),
        route: new Map(),
        cluster: new Map(),
        endpoint: new Map(),
      },
    };
    assert.deepEqual(validateSnapshot('envoy-gateway', inline).findings.map((f) => `${f.check} ${f.severity}`), ['snapshot.route_cluster_exists error']);
    assert.throws(() => assertEnvoyLoadsSnapshot('envoy-gateway', snapshot(routes)), /Envoy would refuse the envoy-gateway snapshot v:\n {2}.*snapshot\.rds_exists/);
  });

  test('the bootstrap: ADS configured, its cluster static and non-EDS, no cluster_names, not V2, a node identity, HTTP/2 to the relay', () => {
    const good = envoyBootstrap({ relay: '10.0.0.5:18000', nodeId: 'gw', cluster: 'edge' });
    assert.deepEqual(validateBootstrapJson(good).errors, []);
    const spoilt = structuredClone(good) as {
      node: Record<string, unknown>;
      dynamic_resources: { ads_config: Record<string, unknown>; cds_config: Record<string, unknown> };
      static_resources: { clusters: Array<Record<string, unknown>> };
    };
    spoilt.node.id = '';
    spoilt.dynamic_resources.ads_config.transport_api_version = 'V2';
    spoilt.dynamic_resources.ads_config.cluster_names = ['vmss_mesh_relay'];
    spoilt.dynamic_resources.ads_config.grpc_services = [{ envoy_grpc: { cluster_name: 'nope' } }];
    spoilt.dynamic_resources.cds_config = { ads: {}, resource_api_version: 'V2' };
    spoilt.static_resources.clusters.push({ ...spoilt.static_resources.clusters[0]!, typed_extension_protocol_options: {} });
    const result = validateBootstrapJson(spoilt);
    assert.deepEqual(result.findings.map((f) => `${f.path} ${f.check} ${f.severity}`), [
      'Bootstrap.node.id bootstrap.node_identity error',
      'Bootstrap.static_resources.clusters[1].name bootstrap.cluster_unique error',
      'Bootstrap.dynamic_resources.cds_config.resource_api_version config_source.v3 error',
      'Bootstrap.dynamic_resources.ads_config.transport_api_version config_source.v3 error',
      'Bootstrap.dynamic_resources.ads_config.cluster_names bootstrap.ads_grpc error',
      'Bootstrap.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name bootstrap.ads_cluster_static error',
    ]);
    const { ads_config: _ads, ...noAds } = good.dynamic_resources as Record<string, unknown>;
    assert.deepEqual(validateBootstrapJson({ ...good, dynamic_resources: noAds }).findings.map((f) => f.check), ['bootstrap.ads_configured']);
    const http1 = structuredClone(good) as { static_resources: { clusters: Array<Record<string, unknown>> } };
    delete http1.static_resources.clusters[0]!.typed_extension_protocol_options;
    assert.deepEqual(validateBootstrapJson(http1).warnings.map((w) => w.replace(/:.*\[/, ' [')), ['Bootstrap.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name [bootstrap.ads_http2, warning]']);
    // PGV on the bootstrap too: an empty admin socket address, a zero connect timeout.
    const pgv = structuredClone(good) as { admin: { address: { socket_address: Record<string, unknown> } }; static_resources: { clusters: Array<Record<string, unknown>> } };
    pgv.admin.address.socket_address.address = '';
    pgv.static_resources.clusters[0]!.connect_timeout = '0s';
    assert.deepEqual(validateBootstrapJson(pgv).violations.map((v) => `${v.path} ${v.rule}`), [
      'Bootstrap.static_resources.clusters[0].connect_timeout duration.gt',
      'Bootstrap.admin.address.socket_address.address string.min_len',
    ]);
    assert.throws(() => assertEnvoyLoadsBootstrap(pgv), /Envoy would refuse this bootstrap:\n {2}Bootstrap\.static_resources\.clusters\[0\]\.connect_timeout: value must be greater than 0s, got 0s \[duration\.gt\]/);
  });
});

describe('the strict helper now asserts what Envoy checks', () => {
  test('assertKnownToEnvoy and assertGrpcJsAccepts fail on a resource only Envoy would refuse', () => {
    // Field names and types are right, and grpc-js-xds accepts it: only Envoy's rules catch the empty stat_prefix.
    const spec = listener({ stat_prefix: '' });
    const bytes = encodeResource('listener', spec).bytes;
    assert.throws(() => assertKnownToEnvoy('envoy.config.listener.v3.Listener', spec), /Envoy would refuse this envoy\.config\.listener\.v3\.Listener:\n {2}Listener\.api_listener\.api_listener<[^>]+>\.stat_prefix: value length must be at least 1 characters, got "" \[string\.min_len\]/);
    assert.throws(() => assertGrpcJsAccepts('listener', 'orders', bytes), /Envoy would refuse listener orders:\n {2}Listener\(orders\)\.api_listener/);
    assert.throws(() => assertKnownToEnvoy('envoy.config.core.v3.SchemeHeaderTransformation', { scheme_to_overwrite: 'ftp' }), /\[string\.in\]/);
  });
});
