/**
 * The MeshStateStore's coalescing (issue 12): a lone change is published at once; only changes
 * inside the window after a publish wait for the window's end. Timing runs on mocked timers and an
 * injected clock (no real waiting beyond one turn of the event loop).
 */
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import { endpoint, endpointSet, recordingPublisher } from '../helpers/relay-inputs';

/** Mocked setTimeout/setImmediate and a clock the store reads, moved together 1 ms at a time. */
function fakeTime(): { now: () => number; advance: (ms: number) => void; [Symbol.dispose]: () => void } {
  mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  let clock = 0;
  return {
    now: () => clock,
    advance(ms) {
      mock.timers.tick(0); // what is due now (a lone change's publish) runs before the clock moves
      for (let i = 0; i < ms; i++) {
        clock += 1;
        mock.timers.tick(1);
      }
    },
    [Symbol.dispose]: () => mock.timers.reset(),
  };
}

describe('MeshStateStore coalescing', () => {
  test('a lone change is published on the next turn of the event loop, not after the window (real timers)', async (t) => {
    let clock = 0;
    const recorder = recordingPublisher();
    const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 60_000, publish: recorder.publish, now: () => clock });
    t.after(() => store.close());
    store.markLoaded();
    clock = 60_000; // the window after the load's publish is over
    store.offer(endpointSet('web', 1, [endpoint('10.0.0.1')]));
    store.offer(endpointSet('api', 2, [endpoint('10.0.0.2')])); // same turn: goes with it
    assert.equal(recorder.states.length, 1, 'not inside offer() itself');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(recorder.states.length, 2, 'published without waiting the 60 s window');
    assert.deepEqual(recorder.infos[1], { changes: 2, services: 2, endpoints: 2 });
  });

  test('a change inside the window after a publish waits for the window end, with everything else that arrives', (t) => {
    const time = fakeTime();
    const recorder = recordingPublisher();
    const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 50, publish: recorder.publish, now: time.now });
    t.after(() => {
      store.close();
      time[Symbol.dispose]();
    });
    store.markLoaded(); // publish at 0
    time.advance(10);
    store.offer(endpointSet('web', 1, [endpoint('10.0.0.1')]));
    time.advance(20);
    store.offer(endpointSet('web', 2, [endpoint('10.0.0.2')]));
    time.advance(19); // t = 49
    assert.equal(recorder.states.length, 1, 'still inside the window after the load');
    time.advance(1); // t = 50
    assert.equal(recorder.states.length, 2);
    assert.deepEqual(recorder.infos[1]?.changes, 2);
    assert.deepEqual(recorder.states[1]!.services.get('web')?.endpoints.map((e) => e.address), ['10.0.0.2']);
    time.advance(100);
    store.offer(endpointSet('web', 3, [endpoint('10.0.0.3')])); // lone again
    time.advance(0);
    assert.equal(recorder.states.length, 3, 'a lone change after a quiet window goes at once');
  });

  test('100 changes inside one second (50 ms window): at most 20 versions in that second, publishes ≥ 50 ms apart, none waits longer than the window', (t) => {
    const time = fakeTime();
    const recorder = recordingPublisher();
    const publishedAt: number[] = [];
    const store = new MeshStateStore({
      gatewayRoutes: [],
      coalesceMs: 50,
      now: time.now,
      publish: (state, info) => {
        publishedAt.push(time.now());
        recorder.publish(state, info);
      },
    });
    t.after(() => {
      store.close();
      time[Symbol.dispose]();
    });
    store.offer(endpointSet('web', 1, []));
    store.markLoaded();
    time.advance(1_000); // the burst starts long after the load
    const start = time.now();
    publishedAt.length = 0;
    let lastChangeAt = 0;
    for (let i = 0; i < 100; i++) {
      store.offer(endpointSet('web', 10 + i, [endpoint(`10.0.${Math.floor(i / 200)}.${(i % 200) + 1}`)]));
      lastChangeAt = time.now();
      time.advance(10);
    }
    time.advance(100);
    const inSecond = publishedAt.filter((at) => at < start + 1_000);
    assert.ok(inSecond.length <= 20, `${inSecond.length} versions inside the second`);
    assert.ok(publishedAt.length <= 21, `${publishedAt.length} versions in all (one more may carry the second's last changes)`);
    assert.ok(publishedAt.length >= 19, `a steady stream is published window by window, got ${publishedAt.length}`);
    assert.equal(publishedAt[0], start, 'the first change of the burst is lone: published at once');
    for (let i = 1; i < publishedAt.length; i++) assert.ok(publishedAt[i]! - publishedAt[i - 1]! >= 50, `publishes ${publishedAt.join(',')}`);
    assert.ok(publishedAt.at(-1)! - lastChangeAt <= 50, 'the last change waited at most one window');
    assert.deepEqual(recorder.states.at(-1)!.services.get('web')?.endpoints.map((e) => e.address), ['10.0.0.100']);
  });

  test('coalesceMs 0: every change goes on the next turn, changes of one turn together', (t) => {
    const time = fakeTime();
    const recorder = recordingPublisher();
    const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 0, publish: recorder.publish, now: time.now });
    t.after(() => {
      store.close();
      time[Symbol.dispose]();
    });
    store.markLoaded();
    store.offer(endpointSet('a', 1, []));
    store.offer(endpointSet('b', 2, []));
    time.advance(0);
    store.offer(endpointSet('c', 3, []));
    time.advance(0);
    assert.deepEqual(recorder.infos.map((i) => i.changes), [0, 2, 1]);
  });

  test('close cancels a scheduled lone publish', (t) => {
    const time = fakeTime();
    const recorder = recordingPublisher();
    const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 50, publish: recorder.publish, now: time.now });
    t.after(() => time[Symbol.dispose]());
    store.markLoaded();
    time.advance(100);
    store.offer(endpointSet('a', 1, []));
    store.close();
    time.advance(100);
    assert.equal(recorder.states.length, 1);
  });
});
