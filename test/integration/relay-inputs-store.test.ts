import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import { endpoint, endpointSet, recordingPublisher, summary } from '../helpers/relay-inputs';

function storeWith(coalesceMs = 20) {
  const recorder = recordingPublisher();
  const store = new MeshStateStore({ gatewayRoutes: [{ pathPrefix: '/', service: 'web' }], coalesceMs, publish: recorder.publish });
  return { store, recorder };
}

describe('MeshStateStore', () => {
  test('newest Consul index wins: created, accepted (equal or newer), ignored-stale (older)', (t) => {
    const { store } = storeWith();
    t.after(() => store.close());
    assert.deepEqual(store.offer(endpointSet('web', 10, [endpoint('10.0.0.1')])), { outcome: 'created', currentIndex: 10, changed: true });
    assert.deepEqual(store.offer(endpointSet('web', 12, [endpoint('10.0.0.2')])), { outcome: 'accepted', currentIndex: 12, changed: true });
    assert.deepEqual(store.offer(endpointSet('web', 11, [endpoint('10.0.0.9')])), { outcome: 'ignored-stale', currentIndex: 12, changed: false });
    assert.deepEqual(store.offer(endpointSet('web', 12, [endpoint('10.0.0.3')])), { outcome: 'accepted', currentIndex: 12, changed: true });
    assert.deepEqual(store.get('web')?.endpoints.map((e) => e.address), ['10.0.0.3']);
  });

  test('a newer index with the same endpoints (in any order) is accepted without a change', (t) => {
    const { store } = storeWith();
    t.after(() => store.close());
    store.offer(endpointSet('web', 5, [endpoint('10.0.0.1'), endpoint('10.0.0.2')]));
    const again = store.offer(endpointSet('web', 9, [endpoint('10.0.0.2'), endpoint('10.0.0.1')]));
    assert.deepEqual(again, { outcome: 'accepted', currentIndex: 9, changed: false });
    assert.equal(store.get('web')?.consulIndex, 9, 'the index moves on, so an older push is now stale');
    assert.equal(store.offer(endpointSet('web', 8, [])).outcome, 'ignored-stale');
  });

  test("after the list loop sees Consul go back (a snapshot restore), a held service's next answer is taken whatever its index, once", (t) => {
    const { store } = storeWith();
    t.after(() => store.close());
    store.offer(endpointSet('web', 101, [endpoint('10.0.0.1')])); // e.g. a push-server read
    store.offer(endpointSet('api', 50, [endpoint('10.0.0.7')]));
    store.consulIndexSeen(99, true); // the restore, seen by the list loop
    // A new service loop's first answer is not authoritative, and below what the relay holds.
    assert.equal(store.offer(endpointSet('web', 100, [endpoint('10.0.0.2')])).outcome, 'accepted');
    assert.deepEqual(store.get('web')?.endpoints.map((e) => e.address), ['10.0.0.2']);
    assert.equal(store.offer(endpointSet('web', 90, [endpoint('10.0.0.3')])).outcome, 'ignored-stale', 'only the first answer after the restore');
    assert.equal(store.offer(endpointSet('api', 40, [endpoint('10.0.0.8')])).outcome, 'ignored-stale', 'a service held below the restored index is not concerned');
  });

  test('authoritative offers (Consul went back in time) replace a newer held set', (t) => {
    const { store } = storeWith();
    t.after(() => store.close());
    store.offer(endpointSet('web', 500, [endpoint('10.0.0.1')]));
    assert.deepEqual(store.offer(endpointSet('web', 7, [endpoint('10.0.0.4')]), { authoritative: true }), { outcome: 'accepted', currentIndex: 7, changed: true });
    assert.equal(store.offer(endpointSet('web', 8, [endpoint('10.0.0.5')])).outcome, 'accepted', 'pushes compare against the new, lower index');
  });

  test('remove forgets a service unless a push newer than the list holds it', (t) => {
    const { store } = storeWith();
    t.after(() => store.close());
    store.offer(endpointSet('web', 10, []));
    store.offer(endpointSet('api', 30, []));
    assert.equal(store.remove('web', 20), true);
    assert.equal(store.remove('api', 20), false, 'a push at 30 is newer than a list read at 20');
    assert.equal(store.remove('api', 20, { authoritative: true }), true);
    assert.equal(store.remove('gone', 20), false);
    assert.deepEqual(store.serviceNames(), []);
  });

  test('nothing is published before the first load; markLoaded publishes at once, empty or not', (t) => {
    const { store, recorder } = storeWith(10_000);
    t.after(() => store.close());
    store.offer(endpointSet('web', 3, [endpoint('10.0.0.1')]));
    store.flush();
    assert.equal(recorder.states.length, 0);
    store.markLoaded();
    assert.equal(recorder.states.length, 1, 'no waiting for the coalescing window at load');
    assert.deepEqual(summary(recorder.states[0]!), { web: ['10.0.0.1:8080/passing'] });
    assert.deepEqual(recorder.states[0]!.gatewayRoutes, [{ pathPrefix: '/', service: 'web' }]);

    const empty = storeWith(10_000);
    t.after(() => empty.store.close());
    empty.store.markLoaded();
    assert.equal(empty.recorder.states.length, 1);
    assert.equal(empty.recorder.states[0]!.services.size, 0);
  });

  test('changes within the coalescing window become one publish; later changes another', async (t) => {
    const { store, recorder } = storeWith(25);
    t.after(() => store.close());
    store.markLoaded();
    for (let i = 1; i <= 5; i += 1) store.offer(endpointSet(`svc-${i}`, i, [endpoint(`10.0.1.${i}`)]));
    store.offer(endpointSet('svc-1', 9, [endpoint('10.0.1.99')]));
    store.offer(endpointSet('svc-1', 1, [endpoint('10.0.1.1')])); // stale: no change
    const published = await recorder.waitFor((s) => s.services.size === 5, 2_000, 'the burst');
    assert.equal(recorder.states.length, 2, 'load + exactly one publish for the burst');
    assert.deepEqual(recorder.infos[1], { changes: 6, services: 5, endpoints: 5 });
    assert.deepEqual(summary(published)['svc-1'], ['10.0.1.99:8080/passing']);
    store.flush();
    assert.equal(recorder.states.length, 2, 'nothing pending after the window');

    store.offer(endpointSet('svc-2', 10, []));
    await recorder.waitFor((s) => s.services.get('svc-2')?.endpoints.length === 0, 2_000, 'the second change');
    assert.equal(recorder.states.length, 3);
    assert.notEqual(recorder.states[1], recorder.states[2]);
    assert.equal(recorder.states[1]!.services.get('svc-2')?.endpoints.length, 1, 'a published state is never altered afterwards');
  });

  test('an offer that changes nothing schedules no publish', (t) => {
    const { store, recorder } = storeWith(0);
    t.after(() => store.close());
    store.offer(endpointSet('web', 1, [endpoint('10.0.0.1')]));
    store.markLoaded();
    store.offer(endpointSet('web', 2, [endpoint('10.0.0.1')]));
    store.flush();
    assert.equal(recorder.states.length, 1);
  });

  test('a throwing publisher is reported and does not stop later publishes', (t) => {
    const errors: unknown[] = [];
    let calls = 0;
    const store = new MeshStateStore({
      gatewayRoutes: [],
      coalesceMs: 0,
      publish: () => {
        calls += 1;
        if (calls === 1) throw new Error('snapshot build failed');
      },
      onPublishError: (e) => errors.push(e),
    });
    t.after(() => store.close());
    store.markLoaded();
    store.offer(endpointSet('web', 1, []));
    store.flush();
    assert.equal(calls, 2);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['snapshot build failed']);
  });
});
