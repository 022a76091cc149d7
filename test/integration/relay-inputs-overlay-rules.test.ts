/**
 * The push-overlay rules at the MeshStateStore seam, with an injected clock and a Consul reader the
 * test answers itself: re-checks of pushed new services, one service's index reset, and re-pushes
 * of the same index.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { MeshStateStore, type OverlayEnd } from '../../src/relay/inputs/mesh-state-store';
import type { MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import { endpoint, endpointSet, recordingPublisher, summary } from '../helpers/relay-inputs';

const A = [endpoint('10.0.0.1')];
const B = [endpoint('10.0.0.2')];
const ep = (set: readonly MeshEndpoint[]) => set.map((e) => `${e.address}:${e.port}/${e.health}`);

/** A store loaded with `web@100` whose reads of Consul answer from `consul`. */
function loadedStore(t: TestContext, options: { maxIndexAhead?: number } = {}) {
  let now = 0;
  const ended: string[] = [];
  const recorder = recordingPublisher();
  const consul = new Map<string, ServiceEndpointSet>();
  const reads: Array<Promise<ServiceEndpointSet>> = [];
  const store = new MeshStateStore({
    gatewayRoutes: [],
    coalesceMs: 0,
    publish: recorder.publish,
    now: () => now,
    push: { maxIndexAhead: options.maxIndexAhead ?? 1_000, overlayTtlMs: 60_000, recheckGraceMs: 1_000, sweepIntervalMs: 3_600_000 },
    onOverlayEnded: (service: string, reason: OverlayEnd, index: number) => ended.push(`${service}@${index} ${reason}`),
  });
  t.after(() => store.close());
  store.attachConsulReader((service) => {
    const read = Promise.resolve(consul.get(service) ?? endpointSet(service, 100, []));
    reads.push(read);
    return read;
  });
  store.offer(endpointSet('web', 100, A));
  store.consulIndexSeen(100);
  store.markLoaded();
  /** Lets every read started so far answer, and the store take the answers. */
  const answered = async () => {
    await Promise.all(reads);
    await Promise.resolve();
  };
  return { store, recorder, consul, ended, answered, advance: (ms: number) => (now += ms) };
}

describe('push overlays against Consul', () => {
  test('a re-check Consul confirms keeps a service only a push created (its own watch answer has not come yet)', async (t) => {
    const s = loadedStore(t);
    assert.equal(s.store.offerPush(endpointSet('api', 103, B)).outcome, 'created');
    s.consul.set('api', endpointSet('api', 103, B)); // Consul committed it; api's own loop has not answered
    s.store.consulIndexSeen(103); // the list loop got there
    s.advance(1_000);
    s.store.sweep();
    await s.answered();
    assert.deepEqual(s.ended, ['api@103 confirmed']);
    assert.deepEqual(s.store.get('api'), endpointSet('api', 103, B), "Consul's read is now what is served for api");
    assert.deepEqual(s.store.pushedServices(), []);
    s.store.flush();
    assert.ok(
      s.recorder.states.filter((state) => state !== s.recorder.states[0]).every((state) => JSON.stringify(summary(state).api) === JSON.stringify(ep(B))),
      `api never left what is served: ${s.recorder.states.map((state) => JSON.stringify(summary(state))).join(' → ')}`,
    );
  });

  test('a re-check that contradicts a pushed new service serves what Consul read for it', async (t) => {
    const s = loadedStore(t);
    s.store.offerPush(endpointSet('api', 103, B));
    s.consul.set('api', endpointSet('api', 101, A));
    s.store.consulIndexSeen(103);
    s.advance(1_000);
    s.store.sweep();
    await s.answered();
    assert.deepEqual(s.ended, ['api@103 contradicted']);
    assert.deepEqual(s.store.get('api'), endpointSet('api', 101, A));
    assert.equal(s.store.remove('api', 103), true, 'the list loop still removes it when Consul does not list it');
  });

  test('a read for a far-ahead push of a service nothing serves adds nothing (the push may yet be refused)', async (t) => {
    const s = loadedStore(t);
    await s.store.readFromConsul('ghost');
    assert.deepEqual(s.store.serviceNames(), ['web']);
  });

  test('a read showing no instances of a pushed service Consul does not hold ends the push and adds no empty service', async (t) => {
    const s = loadedStore(t);
    s.store.offerPush(endpointSet('ghost', 101, B));
    await s.store.readFromConsul('ghost'); // Consul: no such service, at 100 — then at 101
    assert.deepEqual(s.store.pushedServices(), ['ghost'], 'an older read confirms nothing');
    s.consul.set('ghost', endpointSet('ghost', 101, []));
    await s.store.readFromConsul('ghost');
    assert.deepEqual(s.ended, ['ghost@101 confirmed']);
    assert.deepEqual(s.store.serviceNames(), ['web']);
  });

  test("one service's index going backwards ends only that service's overlay and keeps the bound", (t) => {
    const s = loadedStore(t, { maxIndexAhead: 50 });
    s.store.offer(endpointSet('api', 100, A));
    s.store.offerPush(endpointSet('api', 140, B));
    s.store.offerPush(endpointSet('web', 120, B));
    s.store.offer(endpointSet('web', 60, A), { authoritative: true }); // web's loop saw its index go back
    assert.deepEqual(s.ended, ['web@120 reset']);
    assert.deepEqual(s.store.pushIndexBound(), { latest: 100, maxIndexAhead: 50, limit: 150 }, 'only the list loop resets the bound');
    assert.deepEqual(s.store.get('api'), endpointSet('api', 140, B));
    s.store.consulIndexSeen(60, true); // the list loop's reset does lower it, and ends what is beyond
    assert.deepEqual(s.ended, ['web@120 reset', 'api@140 reset']);
    assert.deepEqual(s.store.pushIndexBound(), { latest: 60, maxIndexAhead: 50, limit: 110 });
  });

  test('re-pushing the same index does not renew the expiry (a new index does)', (t) => {
    const s = loadedStore(t);
    s.store.offerPush(endpointSet('api', 105, B));
    s.advance(59_000);
    assert.equal(s.store.offerPush(endpointSet('api', 105, B)).outcome, 'accepted');
    s.advance(1_000);
    s.store.sweep();
    assert.deepEqual(s.ended, ['api@105 expired']);

    s.store.offerPush(endpointSet('api', 106, B));
    s.advance(59_000);
    s.store.offerPush(endpointSet('api', 107, A));
    s.advance(1_000);
    s.store.sweep();
    assert.deepEqual(s.store.pushedServices(), ['api'], 'a newer push is a new claim with its own expiry');
  });
});
