/**
 * Envoy's load-time rules against snapshots built from far wider inputs than the relay's own
 * property test draws: any servable service name (upper case, dots, underscores), health paths,
 * zones, regions and instance names of any text, weights and ports out of range, and any routing
 * rules the relay accepts. Whatever the relay publishes, Envoy (and gRPC) must load.
 */
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { GatewayRoute, MeshState } from '../../src/relay/mesh-state';
import type { ResourceBuildOptions } from '../../src/relay/resources/build-options';
import { validateGatewayRoutes } from '../../src/relay/resources/gateway-routes';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import { assertEnvoyLoadsSnapshot } from '../helpers/envoy-strict';
import { fuzz } from '../helpers/fuzz-runs';

const nameArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('orders', 'Orders', 'web', 'WEB', 'a', 'svc.v2', 'my_svc', 'x-1') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,12}[A-Za-z0-9])?$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

const endpointArb: fc.Arbitrary<MeshEndpoint> = fc.record({
  address: fc.oneof(
    { weight: 6, arbitrary: fc.ipV4() },
    { weight: 2, arbitrary: fc.ipV6() },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  ),
  port: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 65_535 }) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 70_000 }) }),
  zone: fc.oneof(fc.constantFrom('', '1', '2', '3'), fc.string({ maxLength: 6 })),
  health: fc.constantFrom<EndpointHealth>('passing', 'warning', 'critical', 'draining'),
  weight: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.double({ noNaN: false }), fc.constantFrom(0, -3, 1e12)),
  instanceName: fc.string({ maxLength: 12 }),
});

const setArb = (service: string): fc.Arbitrary<ServiceEndpointSet> =>
  fc.record(
    {
      service: fc.constant(service),
      consulIndex: fc.integer({ min: 1, max: 1000 }),
      protocol: fc.oneof(fc.constantFrom('http', 'grpc', 'tcp'), fc.string({ maxLength: 4 })),
      healthPath: fc.oneof(fc.constantFrom('/healthz', '/a b', 'healthz', '/ü', '/x\u0001'), fc.string({ maxLength: 10 }).map((s) => `/${s}`)),
      endpoints: fc.array(endpointArb, { maxLength: 6 }),
    },
    { requiredKeys: ['service', 'consulIndex', 'protocol', 'endpoints'] },
  );

const ruleArb = (services: readonly string[]): fc.Arbitrary<GatewayRoute> =>
  fc.record(
    {
      host: fc.oneof(fc.constantFrom('*', '', 'api.example.com', 'API.Example.com', '*.example.com', 'shop.*', '[fd00::1]', 'a_b.local'), fc.domain()),
      pathPrefix: fc.oneof(fc.constantFrom('/', '/api', '/API', '/v2/', "/a%20b;c=d!'()*"), fc.webPath().filter((p) => p.startsWith('/'))),
      service: fc.constantFrom(...services, 'future'),
    },
    { requiredKeys: ['pathPrefix', 'service'] },
  );

const stateArb: fc.Arbitrary<MeshState> = fc
  .uniqueArray(nameArb, { maxLength: 5 })
  .chain((names) => fc.tuple(fc.tuple(...names.map(setArb)), fc.array(ruleArb(names.filter((n) => n !== '')), { maxLength: 5 })))
  .map(([sets, rules]) => ({
    services: new Map(sets.map((s) => [s.service, s])),
    // The relay refuses invalid rules before building (InvalidInputError): keep the valid ones, first of each host+prefix.
    gatewayRoutes: rules.filter((_, i) => validateGatewayRoutes(rules.slice(0, i + 1)).length === 0),
  }));

const optionsArb: fc.Arbitrary<ResourceBuildOptions> = fc.record(
  {
    routeConfigMode: fc.constantFrom('rds', 'inline'),
    onlyPassing: fc.boolean(),
    localityRegion: fc.string({ maxLength: 8 }),
    outlierDetection: fc.oneof(fc.constant(false as const), fc.record({ maxEjectionPercent: fc.integer({ min: 0, max: 100 }), intervalMs: fc.integer({ min: 1, max: 10_000_000 }) })),
    healthCheck: fc.record({ intervalMs: fc.integer({ min: 1, max: 100_000_000 }), timeoutMs: fc.integer({ min: 1, max: 1_000 }) }),
    // Up to the largest value resolveBuildOptions admits, which is Envoy's own Duration limit,
    // 9 223 372 035 s (see the duration test in envoy-validate.test.ts).
    connectTimeoutMs: fc.integer({ min: 1, max: 9_223_372_035_000 }),
  },
  { requiredKeys: [] },
);

describe('Envoy loads whatever the relay publishes, for wide inputs', () => {
  test('PGV rules, semantic checks and references hold for both profiles', async (t) => {
    await fuzz(
      t,
      'envoy-validate snapshots',
      150,
      fc.property(stateArb, optionsArb, (state, options) => {
        const store = new SnapshotStore(options);
        store.publish(state);
        assertEnvoyLoadsSnapshot('envoy-gateway', store.current('envoy-gateway'));
        assertEnvoyLoadsSnapshot('proxyless-grpc', store.current('proxyless-grpc'));
      }),
    );
  });
});
