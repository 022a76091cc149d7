/**
 * The pure builders: what each resource says, for each input shape, with exact messages for what
 * is rejected or left out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import { ConfigError } from '../../src/shared/errors';
import type { GatewayRoute, MeshState } from '../../src/relay/mesh-state';
import { DEFAULT_BUILD_OPTIONS, resolveBuildOptions } from '../../src/relay/resources/build-options';
import { buildGatewayCluster, buildProxylessCluster } from '../../src/relay/resources/clusters';
import { buildGatewayRouteConfig, validateGatewayRoutes } from '../../src/relay/resources/gateway-routes';
import { buildGatewayListener, buildProxylessListener, buildProxylessRouteConfig } from '../../src/relay/resources/listeners';
import { buildLoadAssignment, endpointWeight, envoyHealthStatus } from '../../src/relay/resources/load-assignment';
import { buildProfileSpecs, buildServiceSpecs } from '../../src/relay/resources/profile-resources';
import { referencesOf } from '../../src/relay/xds/kinds';
import { consistencyProblems } from '../../src/relay/snapshot/consistency';

const HCM_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function ep(address: string, options: Partial<MeshEndpoint> = {}): MeshEndpoint {
  return { address, port: 8080, zone: '1', health: 'passing', weight: 1, instanceName: `vm-${address}`, ...options };
}

function set(service: string, endpoints: MeshEndpoint[] = [], extra: Partial<ServiceEndpointSet> = {}): ServiceEndpointSet {
  return { service, consulIndex: 1, protocol: 'http', endpoints, ...extra };
}

/** A tiny typed view of a CLA spec for assertions. */
interface ClaView {
  cluster_name: string;
  endpoints: Array<{
    locality: { region?: string; zone?: string };
    load_balancing_weight: { value: number };
    priority: number;
    lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } }; hostname: string }; health_status: string; load_balancing_weight: { value: number } }>;
  }>;
}

const view = (spec: unknown): ClaView => spec as ClaView;
const opts = { onlyPassing: false, localityRegion: '' };

describe('ClusterLoadAssignment', () => {
  test('health mapping follows the design, onlyPassing turns warning into UNHEALTHY', () => {
    const table: Array<[EndpointHealth, string, string]> = [
      ['passing', 'HEALTHY', 'HEALTHY'],
      ['warning', 'HEALTHY', 'UNHEALTHY'],
      ['critical', 'UNHEALTHY', 'UNHEALTHY'],
      ['draining', 'DRAINING', 'DRAINING'],
    ];
    for (const [health, normal, strict] of table) {
      assert.equal(envoyHealthStatus(health, false), normal, health);
      assert.equal(envoyHealthStatus(health, true), strict, health);
    }
  });

  test('one locality per zone, sorted, weighted by the usable endpoints\' weights (at least 1), all at priority 0', () => {
    const cla = view(
      buildLoadAssignment(
        set('api', [
          ep('10.0.0.9', { zone: '2', weight: 5 }),
          ep('10.0.0.3', { zone: '1', weight: 2 }),
          ep('10.0.0.2', { zone: '1', weight: 3, health: 'warning' }),
          ep('10.0.0.4', { zone: '1', weight: 7, health: 'critical' }),
          ep('10.0.0.5', { zone: '3', health: 'draining' }),
          ep('10.0.0.6', { zone: '' }),
        ]),
        opts,
      ).spec,
    );
    assert.equal(cla.cluster_name, 'api');
    assert.deepEqual(
      cla.endpoints.map((l) => [l.locality, l.load_balancing_weight.value, l.priority, l.lb_endpoints.map((e) => [e.endpoint.address.socket_address.address, e.health_status, e.load_balancing_weight.value])]),
      [
        [{}, 1, 0, [['10.0.0.6', 'HEALTHY', 1]]],
        [{ zone: '1' }, 5, 0, [['10.0.0.2', 'HEALTHY', 3], ['10.0.0.3', 'HEALTHY', 2], ['10.0.0.4', 'UNHEALTHY', 7]]],
        [{ zone: '2' }, 5, 0, [['10.0.0.9', 'HEALTHY', 5]]],
        [{ zone: '3' }, 1, 0, [['10.0.0.5', 'DRAINING', 1]]],
      ],
    );
  });

  test('with onlyPassing, warning endpoints stop counting towards the locality weight', () => {
    const cla = view(buildLoadAssignment(set('api', [ep('10.0.0.1', { weight: 4 }), ep('10.0.0.2', { weight: 6, health: 'warning' })]), { onlyPassing: true, localityRegion: 'westeurope' }).spec);
    assert.deepEqual(cla.endpoints[0]!.locality, { region: 'westeurope', zone: '1' });
    assert.equal(cla.endpoints[0]!.load_balancing_weight.value, 4);
  });

  test('endpoint weights are rounded into 1–65535', () => {
    assert.deepEqual([0, -3, 1.4, 1.6, 70_000, Number.NaN, Number.POSITIVE_INFINITY].map(endpointWeight), [1, 1, 1, 2, 65_535, 1, 1]);
  });

  test('addresses that are not IP literals and bad ports are left out with a note; IPv6 is kept', () => {
    const built = buildLoadAssignment(set('api', [ep('vm1.internal'), ep('10.0.0.1', { port: 0 }), ep('fd00::1'), ep('10.0.0.2', { port: 65_536 })]), opts);
    assert.deepEqual(
      view(built.spec).endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address)),
      [{ protocol: 'TCP', address: 'fd00::1', port_value: 8080 }],
    );
    assert.deepEqual(built.notes, [
      'service api: endpoint vm-vm1.internal left out: address "vm1.internal" is not an IP literal',
      'service api: endpoint vm-10.0.0.1 left out: port 0 is not 1–65535',
      'service api: endpoint vm-10.0.0.2 left out: port 65536 is not 1–65535',
    ]);
  });

  test('a duplicated address:port is served once, by the healthiest entry', () => {
    const built = buildLoadAssignment(
      set('api', [ep('10.0.0.1', { instanceName: 'old', health: 'critical', zone: '2' }), ep('10.0.0.1', { instanceName: 'new', zone: '1' }), ep('10.0.0.1', { instanceName: 'other-port', port: 9090 })]),
      opts,
    );
    const cla = view(built.spec);
    assert.deepEqual(
      cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => `${e.endpoint.hostname}@${l.locality.zone}`)),
      ['new@1', 'other-port@1'],
    );
    assert.deepEqual(built.notes, ['service api: endpoint old left out: 10.0.0.1:8080 is already served by new']);
  });

  test('the same endpoints in another order give the same assignment', () => {
    const a = [ep('10.0.0.1'), ep('10.0.0.2', { zone: '2' }), ep('10.0.0.3')];
    assert.deepEqual(buildLoadAssignment(set('api', a), opts).spec, buildLoadAssignment(set('api', [...a].reverse()), opts).spec);
  });

  test('an empty set has no localities', () => {
    assert.deepEqual(buildLoadAssignment(set('api'), opts).spec, { cluster_name: 'api', endpoints: [] });
  });
});

describe('clusters', () => {
  const o = DEFAULT_BUILD_OPTIONS;

  test('gateway: EDS over ADS, round robin, outlier detection, no panic mode; health check only with a health path', () => {
    const plain = buildGatewayCluster({ service: 'web', protocol: 'http' }, o);
    assert.deepEqual(plain, {
      name: 'web',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      connect_timeout: { seconds: 1, nanos: 0 },
      lb_policy: 'ROUND_ROBIN',
      outlier_detection: { consecutive_5xx: { value: 5 }, interval: { seconds: 10, nanos: 0 }, base_ejection_time: { seconds: 30, nanos: 0 }, max_ejection_percent: { value: 10 }, enforcing_success_rate: { value: 100 }, success_rate_minimum_hosts: { value: 5 }, success_rate_request_volume: { value: 100 }, success_rate_stdev_factor: { value: 1900 } },
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
    });
    const checked = buildGatewayCluster({ service: 'web', protocol: 'http', healthPath: '/healthz' }, o);
    assert.deepEqual(checked.health_checks, [
      { timeout: { seconds: 2, nanos: 0 }, interval: { seconds: 5, nanos: 0 }, unhealthy_threshold: { value: 2 }, healthy_threshold: { value: 1 }, http_health_check: { path: '/healthz' } },
    ]);
  });

  test('gateway: gRPC services get HTTP/2 upstream and an HTTP/2 health check', () => {
    const grpc = buildGatewayCluster({ service: 'orders', protocol: 'grpc', healthPath: '/healthz' }, o);
    assert.deepEqual(grpc.typed_extension_protocol_options, {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    });
    assert.deepEqual((grpc.health_checks as Array<{ http_health_check: unknown }>)[0]!.http_health_check, { path: '/healthz', codec_client_type: 'HTTP2' });
  });

  test('proxyless: the EDS cluster without gateway-only settings; options reach both', () => {
    const options = resolveBuildOptions({ connectTimeoutMs: 2_500, outlierDetection: false });
    assert.deepEqual(buildProxylessCluster('orders', options), {
      name: 'orders',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      connect_timeout: { seconds: 2, nanos: 500_000_000 },
      lb_policy: 'ROUND_ROBIN',
    });
    assert.equal(buildGatewayCluster({ service: 'x', protocol: 'http' }, options).outlier_detection, undefined);
  });
});

describe('listeners and proxyless routes', () => {
  test('gateway listener: HCM on 0.0.0.0:<port> with RDS over ADS and the router last', () => {
    assert.deepEqual(buildGatewayListener(resolveBuildOptions({ gatewayListenerPort: 9000 })), {
      name: 'vmss-mesh-gateway-9000',
      address: { socket_address: { protocol: 'TCP', address: '0.0.0.0', port_value: 9000 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': HCM_URL,
                stat_prefix: 'vmss_mesh_gateway',
                codec_type: 'AUTO',
                strip_any_host_port: true,
                rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'vmss-mesh-gateway' },
                http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_URL } }],
              },
            },
          ],
        },
      ],
    });
  });

  test('proxyless listener is named by the target host and carries RDS or the inline route config', () => {
    const rds = buildProxylessListener('orders', 'rds');
    assert.deepEqual(rds, {
      name: 'orders',
      api_listener: {
        api_listener: {
          '@type': HCM_URL,
          stat_prefix: 'orders',
          rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: 'orders' },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_URL } }],
        },
      },
    });
    const inline = buildProxylessListener('orders', 'inline') as { api_listener: { api_listener: Record<string, unknown> } };
    assert.deepEqual(inline.api_listener.api_listener.route_config, buildProxylessRouteConfig('orders'));
    assert.equal(inline.api_listener.api_listener.rds, undefined);
    assert.deepEqual(buildProxylessRouteConfig('orders'), {
      name: 'orders',
      virtual_hosts: [{ name: 'orders', domains: ['orders', '*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'orders' } }] }],
    });
  });
});

describe('gateway routes', () => {
  const http = { protocol: 'http' };
  const services = (...names: string[]) => new Map(names.map((n) => [n, http]));
  const routesOf = (spec: Record<string, unknown>) =>
    (spec.virtual_hosts as Array<{ name: string; domains: string[]; routes: Array<{ match: { prefix: string }; route: { cluster: string } }> }>).map((v) => [
      v.name,
      v.domains,
      v.routes.map((r) => `${r.match.prefix}→${r.route.cluster}`),
    ]);

  test('no rules: zero services → 404 everywhere; one → / to it; several → by Host = service name, 404 otherwise', () => {
    assert.deepEqual(routesOf(buildGatewayRouteConfig(services(), [])), [['*', ['*'], []]]);
    assert.deepEqual(routesOf(buildGatewayRouteConfig(services('web'), [])), [['*', ['*'], ['/→web']]]);
    assert.deepEqual(routesOf(buildGatewayRouteConfig(services('web', 'api'), [])), [
      ['api', ['api'], ['/→api']],
      ['web', ['web'], ['/→web']],
      ['*', ['*'], []],
    ]);
    assert.equal(buildGatewayRouteConfig(services(), []).name, 'vmss-mesh-gateway');
  });

  test('rules: a virtual host per host, most specific first, any-host rules inherited unless shadowed', () => {
    const rules: GatewayRoute[] = [
      { pathPrefix: '/', service: 'web' },
      { pathPrefix: '/static', service: 'cdn' },
      { host: 'API.example.com', pathPrefix: '/', service: 'api' },
      { host: 'api.example.com', pathPrefix: '/v2/orders', service: 'orders' },
      { host: '*.internal', pathPrefix: '/static', service: 'internal-cdn' },
    ];
    assert.deepEqual(validateGatewayRoutes(rules), []);
    assert.deepEqual(routesOf(buildGatewayRouteConfig(services('web', 'cdn', 'api', 'orders'), rules)), [
      ['*.internal', ['*.internal'], ['/static→internal-cdn', '/→web']],
      ['api.example.com', ['api.example.com'], ['/v2/orders→orders', '/static→cdn', '/→api']],
      ['*', ['*'], ['/static→cdn', '/→web']],
    ]);
  });

  test('gRPC services get a disabled route timeout', () => {
    const spec = buildGatewayRouteConfig(new Map([['orders', { protocol: 'grpc' }]]), []);
    assert.deepEqual(spec.virtual_hosts, [{ name: '*', domains: ['*'], routes: [{ name: 'orders:/', match: { prefix: '/' }, route: { cluster: 'orders', timeout: { seconds: 0, nanos: 0 } } }] }]);
  });

  test('invalid rules are reported with their paths', () => {
    const bad = [
      { pathPrefix: 'api', service: 'a' },
      { host: 'a.*.com', pathPrefix: '/', service: 'a' },
      { host: '**', pathPrefix: '/', service: 'a' },
      { host: 'example.com:8080', pathPrefix: '/x y', service: '' },
      { host: 'Example.com', pathPrefix: '/', service: 'b' },
      { host: 'example.com', pathPrefix: '/', service: 'c' },
      { host: '[fd00::1]', pathPrefix: '/ok', service: 'd' },
    ] as GatewayRoute[];
    assert.deepEqual(validateGatewayRoutes(bad), [
      'gatewayRoutes[0].pathPrefix: "api" must start with "/" and hold only URL path characters',
      'gatewayRoutes[1].host: "a.*.com" may only have "*" at its start or end',
      'gatewayRoutes[2].host: "**" has more than one "*"',
      'gatewayRoutes[3].service: must name a service',
      'gatewayRoutes[3].pathPrefix: "/x y" must start with "/" and hold only URL path characters',
      'gatewayRoutes[3].host: "example.com:8080" may only hold letters, digits, ".", "-", "_" and a leading or trailing "*" (no port: the gateway strips it)',
      'gatewayRoutes[5]: same host and path prefix as gatewayRoutes[4]',
    ]);
  });

  test('a rule naming a service the mesh lacks routes to a placeholder cluster with no endpoints', () => {
    const state: MeshState = { services: new Map([['web', set('web', [ep('10.0.0.1')])]]), gatewayRoutes: [{ pathPrefix: '/new', service: 'future' }, { pathPrefix: '/', service: 'web' }] };
    const gateway = buildProfileSpecs(state, DEFAULT_BUILD_OPTIONS)['envoy-gateway'];
    assert.deepEqual(gateway.cluster.map((c) => c.name), ['web', 'future']);
    assert.deepEqual(gateway.endpoint.find((e) => e.cluster_name === 'future'), { cluster_name: 'future', endpoints: [] });
    const proxyless = buildProfileSpecs(state, DEFAULT_BUILD_OPTIONS)['proxyless-grpc'];
    assert.deepEqual(proxyless.cluster.map((c) => c.name), ['web']);
  });
});

describe('service specs', () => {
  test('a health path that is not an absolute URL path is dropped with a note', () => {
    const state: MeshState = { services: new Map([['web', set('web', [], { healthPath: 'healthz now' })]]), gatewayRoutes: [] };
    const specs = buildServiceSpecs(state.services.get('web')!, DEFAULT_BUILD_OPTIONS);
    assert.equal(specs.gatewayCluster.health_checks, undefined);
    assert.deepEqual(specs.notes, ['service web: health path "healthz now" is not an absolute URL path; the gateway does not health-check it']);
  });
});

describe('build options', () => {
  test('defaults', () => {
    assert.deepEqual(resolveBuildOptions(), DEFAULT_BUILD_OPTIONS);
    assert.equal(DEFAULT_BUILD_OPTIONS.gatewayListenerPort, 8080);
    assert.equal(DEFAULT_BUILD_OPTIONS.routeConfigMode, 'rds');
  });

  test('partial nested options keep the other defaults', () => {
    const o = resolveBuildOptions({ outlierDetection: { maxEjectionPercent: 50 }, healthCheck: { intervalMs: 1_000 } });
    assert.deepEqual(o.outlierDetection, { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 });
    assert.deepEqual(o.healthCheck, { intervalMs: 1_000, timeoutMs: 2_000, unhealthyThreshold: 2, healthyThreshold: 1 });
  });

  test('impossible values are ConfigErrors naming the option', () => {
    const cases: Array<[Parameters<typeof resolveBuildOptions>[0], string]> = [
      [{ gatewayListenerPort: 0 }, 'gatewayListenerPort: must be a whole number from 1 to 65535, got 0'],
      [{ gatewayListenerAddress: 'localhost' }, 'gatewayListenerAddress: must be an IP literal, got "localhost"'],
      [{ connectTimeoutMs: 0.5 }, 'connectTimeoutMs: must be a whole number from 1 to 9223372035000, got 0.5'],
      // Envoy refuses a Duration over (INT64_MAX - 999999999) / 1e9 s, so the option does too.
      [{ healthCheck: { intervalMs: 9_223_372_035_001 } }, 'healthCheck.intervalMs: must be a whole number from 1 to 9223372035000, got 9223372035001'],
      [{ outlierDetection: { maxEjectionPercent: 101 } }, 'outlierDetection.maxEjectionPercent: must be a whole number from 0 to 100, got 101'],
      [{ healthCheck: { healthyThreshold: 0 } }, 'healthCheck.healthyThreshold: must be a whole number from 1 to 4294967295, got 0'],
      [{ routeConfigMode: 'eds' as 'rds' }, 'routeConfigMode: must be "rds" or "inline", got "eds"'],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => resolveBuildOptions(input), (e: unknown) => e instanceof ConfigError && e.message === message, message);
    }
  });
});

describe('references and consistency', () => {
  test('references are read from the specs', () => {
    assert.deepEqual(referencesOf('listener', buildProxylessListener('a', 'rds')), { routeConfigs: ['a'], clusters: [], loadAssignments: [] });
    assert.deepEqual(referencesOf('listener', buildProxylessListener('a', 'inline')), { routeConfigs: [], clusters: ['a'], loadAssignments: [] });
    assert.deepEqual(referencesOf('listener', buildGatewayListener(DEFAULT_BUILD_OPTIONS)), { routeConfigs: ['vmss-mesh-gateway'], clusters: [], loadAssignments: [] });
    assert.deepEqual(referencesOf('cluster', buildProxylessCluster('a', DEFAULT_BUILD_OPTIONS)), { routeConfigs: [], clusters: [], loadAssignments: ['a'] });
    assert.deepEqual(referencesOf('route', { name: 'r', virtual_hosts: [{ routes: [{ route: { weighted_clusters: { clusters: [{ name: 'x' }, { name: 'y' }] } } }] }] }).clusters, ['x', 'y']);
  });

  test('every broken reference, orphan and duplicate is named', () => {
    const none = { routeConfigs: [], clusters: [], loadAssignments: [] };
    const problems = consistencyProblems({
      listener: [{ name: 'l', refs: { ...none, routeConfigs: ['missing-route'], clusters: ['missing-inline'] } }],
      route: [
        { name: 'orphan-route', refs: { ...none, clusters: ['missing-cluster'] } },
        { name: 'orphan-route', refs: none },
      ],
      cluster: [{ name: 'c', refs: { ...none, loadAssignments: ['missing-cla'] } }],
      endpoint: [{ name: 'stray', refs: none }],
    });
    assert.deepEqual(problems, [
      'route "orphan-route" appears twice',
      'listener "l" asks for route configuration "missing-route", which does not exist',
      'listener "l" routes to cluster "missing-inline", which does not exist',
      'route configuration "orphan-route" is used by no listener',
      'route configuration "orphan-route" routes to cluster "missing-cluster", which does not exist',
      'route configuration "orphan-route" is used by no listener',
      'cluster "c" has no ClusterLoadAssignment "missing-cla"',
      'ClusterLoadAssignment "stray" belongs to no EDS cluster',
    ]);
  });
});
