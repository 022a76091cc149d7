/**
 * Properties of traffic between scale sets (issue 13):
 * - whatever the scale sets, weights and health of a service, both profiles' snapshots are loaded
 *   by Envoy (validator) and grpc-js-xds (its decoders: a weighted route summing to 0 is a NACK);
 *   the route gives each scale set with a healthy instance exactly its weight, the others 0, or
 *   falls back to the service's cluster exactly when no healthy scale set has a weight above 0;
 *   every endpoint is in its scale set's subset and in the service's own assignment;
 * - traffic tags written by meshTagsFor parse back to the same specs, and no tag value makes
 *   parseMeshTags throw.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import { meshTagsFor, parseMeshTags } from '../../src/shared/azure/mesh-tags';
import type { MeshServiceSpec } from '../../src/shared/model';
import { DEFAULT_WEIGHT, GRPC_RETRY_CONDITIONS, HTTP_RETRY_CONDITIONS, type RetryCondition, type RoutePolicy } from '../../src/shared/traffic';
import { serviceRouting } from '../../src/relay/resources/traffic-split';
import { subsetClusterName } from '../../src/relay/resources/resource-names';
import { XDS_KINDS } from '../../src/relay/xds/kinds';
import { RESOURCE_KINDS } from '../../src/relay/xds/resource-kind';
import { CLIENT_PROFILES, SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { assertEnvoyLoadsSnapshot, assertGrpcJsAccepts } from '../helpers/envoy-strict';

const SCALE_SETS = ['blue', 'green', 'canary'].map((n) => `/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/${n}`);
const HEALTH: MeshEndpoint['health'][] = ['passing', 'warning', 'critical', 'draining'];

const conditionArb = fc.constantFrom<RetryCondition>(...GRPC_RETRY_CONDITIONS, ...HTTP_RETRY_CONDITIONS);
const policyArb: fc.Arbitrary<RoutePolicy | undefined> = fc.option(
  fc
    .record({
      retryOn: fc.uniqueArray(conditionArb, { maxLength: 4 }),
      numRetries: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      perTryTimeoutMs: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
      timeoutMs: fc.option(fc.integer({ min: 60_000, max: 3_600_000 }), { nil: undefined }),
    })
    .map(({ retryOn, numRetries, perTryTimeoutMs, timeoutMs }) => ({
      retryOn,
      ...(retryOn.length > 0 && numRetries !== undefined ? { numRetries } : {}),
      ...(retryOn.length > 0 && perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    }))
    .filter((p) => p.retryOn.length > 0 || p.timeoutMs !== undefined),
  { nil: undefined },
);

/** A service over up to three scale sets; each scale set one weight (or none) for all its endpoints. */
const setArb: fc.Arbitrary<ServiceEndpointSet> = fc
  .record({
    weights: fc.tuple(...SCALE_SETS.map(() => fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }))),
    endpoints: fc.uniqueArray(fc.record({ host: fc.integer({ min: 1, max: 40 }), scaleSet: fc.nat(SCALE_SETS.length - 1), health: fc.constantFrom(...HEALTH) }), {
      selector: (e) => e.host,
      minLength: 1,
      maxLength: 12,
    }),
    policy: policyArb,
    protocol: fc.constantFrom('grpc', 'http'),
  })
  .map(({ weights, endpoints, policy, protocol }) => ({
    service: 'orders',
    consulIndex: 3,
    protocol,
    endpoints: endpoints.map((e) => {
      const weight = weights[e.scaleSet];
      return {
        address: `10.1.0.${e.host}`,
        port: 50051,
        zone: String(e.host % 3),
        health: e.health,
        weight: 1,
        instanceName: `vm_${e.host}`,
        scaleSet: SCALE_SETS[e.scaleSet] as string,
        ...(weight !== undefined ? { scaleSetWeight: weight } : {}),
      };
    }),
    ...(policy ? { policy } : {}),
  }));

type Route = { name: string; route: { cluster?: string; weighted_clusters?: { clusters: Array<{ name: string; weight?: { value?: number } }> } } };

describe('weighted routes', () => {
  test('every split is loaded by Envoy and grpc-js, and gives each healthy scale set its weight', () => {
    fc.assert(
      fc.property(setArb, fc.boolean(), (set, onlyPassing) => {
        const store = new SnapshotStore({ onlyPassing });
        store.publish({ services: new Map([['orders', set]]), gatewayRoutes: [] });
        const weighted = set.endpoints.some((e) => e.scaleSetWeight !== undefined);
        const expected = new Map<string, number>();
        for (const id of new Set(set.endpoints.map((e) => e.scaleSet as string))) {
          const mine = set.endpoints.filter((e) => e.scaleSet === id);
          const healthy = mine.some((e) => e.health === 'passing' || (e.health === 'warning' && !onlyPassing));
          expected.set(subsetClusterName('orders', id), healthy ? (mine[0]?.scaleSetWeight ?? DEFAULT_WEIGHT) : 0);
        }
        const fallback = !weighted || [...expected.values()].every((w) => w === 0);
        for (const profile of CLIENT_PROFILES) {
          const snapshot = store.current(profile);
          assertEnvoyLoadsSnapshot(profile, snapshot);
          if (profile === 'proxyless-grpc') for (const kind of RESOURCE_KINDS) for (const [name, r] of snapshot.resources[kind]) assertGrpcJsAccepts(kind, name, r.bytes);
          const type = envoyType(XDS_KINDS.route.typeName);
          const name = profile === 'envoy-gateway' ? 'vmss-mesh-gateway' : 'orders';
          const config = type.toObject(type.decode(snapshot.resources.route.get(name)!.bytes), { defaults: false }) as { virtual_hosts: Array<{ routes: Route[] }> };
          const action = config.virtual_hosts[0]!.routes[0]!.route;
          if (fallback) assert.equal(action.cluster, 'orders');
          else {
            assert.deepEqual(new Map(action.weighted_clusters!.clusters.map((c) => [c.name, c.weight?.value ?? 0])), expected);
            // Envoy's RouteEntryImplBase (the validator has no such rule yet): "Sum of weights in the weighted_cluster must be greater than 0."
            assert.ok(action.weighted_clusters!.clusters.reduce((sum, c) => sum + (c.weight?.value ?? 0), 0) > 0);
          }
          assert.deepEqual([...snapshot.resources.cluster.keys()].sort(), ['orders', ...(weighted ? expected.keys() : [])].sort());
        }
        // Every endpoint is in its own scale set's subset and nowhere else.
        const routing = serviceRouting(set, { onlyPassing });
        assert.equal(
          routing.subsets.reduce((n, s) => n + s.endpoints.length, 0),
          weighted ? set.endpoints.length : 0,
        );
        for (const subset of routing.subsets) assert.ok(subset.endpoints.every((e) => e.scaleSet === subset.scaleSet));
      }),
      { numRuns: 60 },
    );
  });
});

const specArb: fc.Arbitrary<MeshServiceSpec> = fc
  .record({
    name: fc.constantFrom('orders', 'web', 'api-2'),
    port: fc.integer({ min: 1, max: 65535 }),
    weight: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    policy: policyArb,
  })
  .map(({ name, port, weight, policy }) => ({
    name,
    port,
    protocol: 'grpc' as const,
    ...(weight !== undefined ? { weight } : {}),
    ...(policy ? { policy: { ...policy, retryOn: [...new Set(policy.retryOn)] } } : {}),
  }));

describe('traffic tags', () => {
  test('meshTagsFor → parseMeshTags gives the specs back (per-try ≤ timeout kept by construction)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(specArb, { selector: (s) => s.name, minLength: 1, maxLength: 3 }), (specs) => {
        const samePort = specs.map((s, i) => ({ ...s, port: 1000 + i }));
        assert.deepEqual(parseMeshTags(meshTagsFor(samePort)), { ok: true, services: samePort });
      }),
      { numRuns: 200 },
    );
  });

  test('no value of a traffic tag makes parsing throw; a bad one is an error naming the tag', () => {
    const tagArb = fc.constantFrom('vmss-mesh-weight', 'vmss-mesh-retry-on', 'vmss-mesh-retries', 'vmss-mesh-per-try-timeout', 'vmss-mesh-timeout', 'vmss-mesh-timeout-3', 'VMSS-MESH-WEIGHT-2');
    fc.assert(
      fc.property(fc.dictionary(tagArb, fc.string({ maxLength: 12 })), (extra) => {
        const result = parseMeshTags({ 'vmss-mesh-service': 'orders', 'vmss-mesh-port': '80', ...extra });
        if (!result.ok) for (const error of result.errors) assert.match(error, /vmss-mesh-|VMSS-MESH-/);
      }),
      { numRuns: 500 },
    );
  });
});
