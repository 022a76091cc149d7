/**
 * Whatever pushes, Consul changes, watch answers (late ones too), list reads, Consul restores and
 * reads of one service arrive, in any order: no push beyond the bound is ever served, a read never
 * takes away a service Consul has, and once Consul is reachable, the watch has answered and the
 * expiry has passed, the relay serves exactly Consul's data (Consul's own data wins).
 *
 * Pushes beyond the bound go the way the push server sends them: one read of the service from
 * Consul, then taken only if the bound now allows them. Reads are answered (or fail) when the
 * history says so, so re-checks and late reads are part of it.
 *
 * Every state the relay publishes, overlays included, is built into snapshots of both profiles
 * that Envoy would load (PGV rules, semantic checks, references).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import type { MeshState } from '../../src/relay/mesh-state';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import type { ServiceEndpointSet } from '../../src/shared/endpoints';
import { assertEnvoyLoadsSnapshot } from '../helpers/envoy-strict';
import { endpoint, endpointSet } from '../helpers/relay-inputs';

const SERVICES = ['web', 'api', 'ghost'] as const;
const IN_CONSUL = ['web', 'api'] as const;
const MAX_AHEAD = 50;
const TTL = 1_000;
const GRACE = 100;
const PROFILES: readonly ClientProfile[] = ['envoy-gateway', 'proxyless-grpc'];
/**
 * Published contents whose snapshots were validated already, over all runs: the resources do not
 * carry Consul indexes, so equal contents build equal resources and are neither built nor validated
 * again (about 3,400 publishes, 350 contents; building and validating each publish took the test
 * from 2 s to 21 s).
 */
const validatedContents = new Set<string>();
const contentOf = (state: MeshState) => JSON.stringify([...state.services.values()].map(({ consulIndex: _, ...content }) => content));

const service = fc.constantFrom(...SERVICES);
const addresses = (minLength: number) => fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { minLength, maxLength: 3 }).map((ns) => ns.map((n) => endpoint(`10.0.0.${n}`)));
const endpoints = addresses(0);
/** Consul lists a service while it has instances (deregistering the last one is not modelled). */
const instances = addresses(1);
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('push' as const), service, ahead: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -20, max: 2 * MAX_AHEAD }), fc.constant(1_000_000_000)), endpoints }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('consul' as const), service: fc.constantFrom(...IN_CONSUL), step: fc.integer({ min: 1, max: 30 }), endpoints: instances }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deliver' as const), service: fc.constantFrom(...IN_CONSUL) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('list' as const), step: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), drop: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('answer' as const), fail: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 700 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reachable' as const), on: fc.boolean() }) },
);

interface PendingRead {
  readonly set: ServiceEndpointSet;
  readonly resolve: (set: ServiceEndpointSet) => void;
  readonly reject: (error: Error) => void;
}

/** Every promise callback queued so far has run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

test('after any history, Consul reachable + answered + the expiry → exactly Consul’s data is served; a push beyond the bound never is', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      let now = 0;
      let consulIndex = 100;
      let latest = 100;
      /** Consul's data, and the index each watch loop (the list's, each service's) last answered at. */
      const consul = new Map<string, ServiceEndpointSet>([['web', endpointSet('web', 100, [endpoint('10.0.0.1')])]]);
      let listAt = 100;
      const loopAt = new Map<string, number>([['web', 100]]);
      /** Service loops a restore woke (Consul wakes every blocking query when it restores a snapshot). */
      const woken = new Set<string>();
      const reads: PendingRead[] = [];
      const snapshots = new SnapshotStore();
      /** The content of a publish whose snapshots are not validated yet, and any error building them. */
      let unchecked: string | undefined;
      let publishError: unknown;
      const store = new MeshStateStore({
        gatewayRoutes: [],
        coalesceMs: 0,
        publish: (state) => {
          const content = contentOf(state);
          if (validatedContents.has(content)) return;
          snapshots.publish(state);
          unchecked = content;
        },
        onPublishError: (error) => (publishError = error),
        now: () => now,
        push: { maxIndexAhead: MAX_AHEAD, overlayTtlMs: TTL, recheckGraceMs: GRACE, sweepIntervalMs: 3_600_000 },
      });
      const checkPublished = () => {
        assert.equal(publishError, undefined, 'a published state could not be built into snapshots');
        if (unchecked === undefined) return;
        for (const profile of PROFILES) assertEnvoyLoadsSnapshot(profile, snapshots.current(profile));
        validatedContents.add(unchecked);
        unchecked = undefined;
      };
      store.attachConsulReader(
        (name) =>
          new Promise((resolve, reject) => {
            const set = consul.get(name) ?? endpointSet(name, consulIndex, []);
            reads.push({ set, resolve, reject });
          }),
      );
      /** A service loop answers when Consul's index for the service moved (backwards = a reset) or a restore woke it. */
      const deliver = (name: string) => {
        const set = consul.get(name);
        const at = loopAt.get(name) ?? 0;
        if (!set || (set.consulIndex === at && !woken.delete(name))) return;
        store.offer(set, { authoritative: set.consulIndex < at });
        loopAt.set(name, set.consulIndex);
      };
      const list = () => {
        const reset = consulIndex < listAt;
        store.consulIndexSeen(consulIndex, reset);
        for (const name of store.serviceNames()) if (!consul.has(name)) store.remove(name, consulIndex, { authoritative: reset });
        listAt = consulIndex;
      };
      const answer = async (fail: boolean) => {
        const read = reads.shift();
        if (!read) return;
        const name = read.set.service;
        const servedBefore = store.get(name) !== undefined;
        if (fail) read.reject(new Error('Consul did not answer'));
        else read.resolve(read.set);
        await settled();
        if (servedBefore && !fail && read.set.endpoints.length > 0) assert.ok(store.get(name), `a read that shows ${name} took it away`);
      };
      try {
        store.offer(consul.get('web')!);
        store.consulIndexSeen(100);
        store.markLoaded();
        for (const o of ops) {
          if (o.kind === 'push') {
            const set = endpointSet(o.service, Math.max(1, consulIndex + o.ahead), o.endpoints);
            const beyond = () => set.consulIndex > store.pushIndexBound()!.limit;
            if (!beyond()) store.offerPush(set);
            // what the push server does: one read of the service, then the bound again
            else void store.readFromConsul(set.service)?.then(() => void (beyond() || store.offerPush(set)), () => undefined);
          } else if (o.kind === 'consul') {
            consulIndex += o.step;
            consul.set(o.service, endpointSet(o.service, consulIndex, o.endpoints));
          } else if (o.kind === 'deliver') {
            deliver(o.service);
          } else if (o.kind === 'list') {
            consulIndex += o.step;
            list();
          } else if (o.kind === 'reset') {
            // A restored Consul: its index goes back; each loop sees it at its next answer. Reads in
            // flight fail with the restart (a read answered from the old history after the reset
            // is not modelled).
            for (const read of reads.splice(0)) read.reject(new Error('Consul restarted'));
            await settled();
            consulIndex = Math.max(1, consulIndex - o.drop);
            for (const [name, set] of consul) consul.set(name, { ...set, consulIndex: Math.min(set.consulIndex, consulIndex) });
            for (const name of loopAt.keys()) woken.add(name);
            // The list loop is woken too, and answers at once, at the restored (lower) index.
            list();
          } else if (o.kind === 'answer') {
            await answer(o.fail);
          } else if (o.kind === 'time') {
            now += o.ms;
            store.sweep();
          } else store.setConsulReachable(o.on);
          const bound = store.pushIndexBound()!;
          if (o.kind !== 'list' && o.kind !== 'reset') assert.ok(bound.latest >= latest, `the bound went back from ${latest} to ${bound.latest} without the list loop seeing a reset`);
          latest = bound.latest;
          checkPublished();
          for (const name of store.pushedServices()) {
            assert.ok(store.get(name)!.consulIndex <= bound.limit, `${name}: a push beyond the bound is served`);
          }
        }
        store.setConsulReachable(true);
        for (const name of consul.keys()) deliver(name);
        while (reads.length > 0) await answer(false);
        now += TTL;
        store.sweep();
        while (reads.length > 0) await answer(false);
        list();
        store.flush();
        checkPublished();
        assert.deepEqual(store.pushedServices(), []);
        assert.deepEqual(store.serviceNames(), [...consul.keys()].sort());
        for (const [name, set] of consul) assert.deepEqual(store.get(name)?.endpoints.map((e) => e.address).sort(), set.endpoints.map((e) => e.address).sort(), name);
      } finally {
        store.close();
      }
    }),
    // A fixed seed: CI explores the same 2,000 histories every run (VMSS_MESH_PROPERTY_SEED explores
    // another). Seed 367891861 found a history the relay got wrong: a service held from a
    // push-server read at index 101, then a Consul snapshot restore to 99 and a write at 100 — the
    // relay kept the read's endpoints, the service's first watch answer (100) being below what it
    // held (fixed: heldPastReset; relay-inputs-store.test.ts has the case).
    { numRuns: 2000, seed: Number(process.env.VMSS_MESH_PROPERTY_SEED ?? 20_261_203) },
  );
});
