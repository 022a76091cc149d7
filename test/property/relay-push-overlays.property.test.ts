/**
 * Whatever pushes and Consul answers arrive, in any order and with any index a pusher may claim
 * within the bound: once Consul is reachable and the expiry has passed, the relay serves exactly
 * Consul's data (Consul's own data wins), and no push beyond the bound is ever served.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import { endpoint, endpointSet } from '../integration/relay-inputs-helpers';

const SERVICES = ['web', 'api', 'ghost'] as const;
const MAX_AHEAD = 50;
const TTL = 1_000;

const service = fc.constantFrom(...SERVICES);
const endpoints = fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 3 }).map((ns) => ns.map((n) => endpoint(`10.0.0.${n}`)));
const op = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), service, ahead: fc.oneof(fc.integer({ min: -20, max: 60 }), fc.constant(1_000_000_000)), endpoints }),
  fc.record({ kind: fc.constant('consul' as const), service: fc.constantFrom('web', 'api'), step: fc.integer({ min: 0, max: 30 }), endpoints }),
  fc.record({ kind: fc.constant('list' as const), step: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 700 }) }),
  fc.record({ kind: fc.constant('reachable' as const), on: fc.boolean() }),
);

test('after any history, Consul reachable + the expiry → exactly Consul’s data is served; a push beyond the bound never is', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      let now = 0;
      let consulIndex = 100;
      const consul = new Map<string, ReturnType<typeof endpointSet>>([['web', endpointSet('web', 100, [endpoint('10.0.0.1')])]]);
      const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 0, publish: () => undefined, now: () => now, push: { maxIndexAhead: MAX_AHEAD, overlayTtlMs: TTL, sweepIntervalMs: 3_600_000 } });
      try {
        store.offer(consul.get('web')!);
        store.consulIndexSeen(100);
        store.markLoaded();
        for (const o of ops) {
          if (o.kind === 'push') {
            const index = Math.max(1, consulIndex + o.ahead);
            const bound = store.pushIndexBound()!;
            if (index > bound.limit) continue; // the push server refuses it
            store.offerPush(endpointSet(o.service, index, o.endpoints));
          } else if (o.kind === 'consul') {
            consulIndex += o.step;
            const set = endpointSet(o.service, consulIndex, o.endpoints);
            consul.set(o.service, set);
            store.offer(set);
          } else if (o.kind === 'list') {
            consulIndex += o.step;
            store.consulIndexSeen(consulIndex);
            for (const name of store.serviceNames()) if (!consul.has(name)) store.remove(name, consulIndex);
          } else if (o.kind === 'time') {
            now += o.ms;
            store.sweep();
          } else store.setConsulReachable(o.on);
          for (const name of store.serviceNames()) {
            assert.ok(store.get(name)!.consulIndex <= store.pushIndexBound()!.limit, `${name} served beyond the bound`);
          }
        }
        store.setConsulReachable(true);
        now += TTL;
        store.sweep();
        assert.deepEqual(store.serviceNames(), [...consul.keys()].sort());
        for (const [name, set] of consul) assert.deepEqual(store.get(name)?.endpoints.map((e) => e.address).sort(), set.endpoints.map((e) => e.address).sort(), name);
      } finally {
        store.close();
      }
    }),
    { numRuns: 500 },
  );
});
