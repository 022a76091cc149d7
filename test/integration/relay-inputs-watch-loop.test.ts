/**
 * The watch loop's index, pacing and backoff rules, driven through a scripted WatchSource (no
 * network): every read is recorded with the index it blocked on, and answered by the test.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { BlockingRead, ServiceList, WatchSource } from '../../src/relay/inputs/consul-source';
import { ConsulWatch, type WatchObserver } from '../../src/relay/inputs/consul-watch';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import type { ServiceEndpointSet } from '../../src/shared/endpoints';
import { TransientError } from '../../src/shared/errors';
import { endpoint, endpointSet, recordingPublisher, until } from '../helpers/relay-inputs';

interface Read {
  readonly what: string;
  readonly index: number | undefined;
  readonly at: number;
}

type Answer<T> = (read: BlockingRead, n: number) => T | Promise<T>;

/** Answers reads with the test's functions; a read past the script blocks until close (like a long wait). */
function scriptedSource(script: { services: Answer<ServiceList>; service: (name: string) => Answer<ServiceEndpointSet> }) {
  const reads: Read[] = [];
  const listeners = new Set<() => void>();
  const counts = new Map<string, number>();
  let closed = false;
  const pendingForever: Array<(e: Error) => void> = [];
  const record = async <T>(what: string, read: BlockingRead, answer: Answer<T>): Promise<T> => {
    if (closed) throw new Error('source closed');
    const n = (counts.get(what) ?? 0) + 1;
    counts.set(what, n);
    reads.push({ what, index: read.index, at: performance.now() });
    for (const l of [...listeners]) l();
    return answer(read, n);
  };
  const source: WatchSource = {
    ownedServices: (read) => record('services', read, script.services),
    serviceEndpoints: (name, read) => record(`service:${name}`, read, script.service(name)),
    close() {
      closed = true;
      for (const reject of pendingForever.splice(0)) reject(new Error('source closed'));
    },
  };
  const block = <T>(): Promise<T> => new Promise<T>((_, reject) => pendingForever.push(reject));
  const subscribe = (wake: () => void) => {
    listeners.add(wake);
    return () => listeners.delete(wake);
  };
  const readsOf = (what: string) => reads.filter((r) => r.what === what);
  return { source, reads, readsOf, block, subscribe };
}

function startWatch(t: TestContext, source: WatchSource, options: Partial<ConstructorParameters<typeof ConsulWatch>[0]> = {}) {
  const recorder = recordingPublisher();
  const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 0, publish: recorder.publish });
  const events: string[] = [];
  const observer: WatchObserver = {
    onState: (s) => events.push(`state ${s}`),
    onIndexReset: (what, held, received) => events.push(`reset ${what} ${held}→${received}`),
    onError: (what, e, retry) => events.push(`error ${what} ${(e as Error).message} retry ${retry}`),
  };
  const watch = new ConsulWatch({ source, store, waitSeconds: 300, minIntervalMs: 0, maxBackoffMs: 1_000, initialBackoffMs: 5, random: () => 1, observer, ...options });
  t.after(() => watch.close());
  t.after(() => store.close());
  watch.start();
  return { watch, store, recorder, events };
}

describe('ConsulWatch loop rules', { concurrency: true, timeout: 30_000 }, () => {
  test('loads the list and every service before publishing, then blocks on the indexes it got', async (t) => {
    const s = scriptedSource({
      services: (_read, n) => (n === 1 ? { index: 40, services: ['api', 'web'] } : s.block()),
      service: (name) => (_read, n) => (n === 1 ? endpointSet(name, name === 'web' ? 31 : 22, [endpoint('10.0.0.1')]) : s.block()),
    });
    const { watch, store, recorder } = startWatch(t, s.source);
    await watch.loaded;
    assert.equal(recorder.states.length, 1);
    assert.deepEqual([...recorder.states[0]!.services.keys()], ['api', 'web']);
    assert.equal(store.loaded, true);
    await until(() => s.reads.length === 6, s.subscribe, 2_000, 'the blocking reads');
    const firstReads = s.reads.slice(0, 3).map((r) => `${r.what}@${r.index}`).sort();
    assert.deepEqual(firstReads, ['service:api@undefined', 'service:web@undefined', 'services@undefined'], 'the first reads do not block');
    const blocking = s.reads.slice(3).map((r) => `${r.what}@${r.index}`).sort();
    assert.deepEqual(blocking, ['service:api@22', 'service:web@31', 'services@40']);
    assert.equal(watch.state, 'watching');
  });

  test('an index that goes backwards resets to 0 and the lower answer is taken as the truth', async (t) => {
    const answers = [endpointSet('web', 50, [endpoint('10.0.0.1')]), endpointSet('web', 60, [endpoint('10.0.0.2')]), endpointSet('web', 12, [endpoint('10.0.0.3')]), endpointSet('web', 12, [endpoint('10.0.0.3')])];
    const s = scriptedSource({
      services: (_read, n) => (n === 1 ? { index: 5, services: ['web'] } : s.block()),
      service: () => (_read, n) => answers[n - 1] ?? s.block(),
    });
    const { store, events } = startWatch(t, s.source);
    await until(() => s.readsOf('service:web').length === 5, s.subscribe, 2_000, 'five reads of web');
    assert.deepEqual(s.readsOf('service:web').map((r) => r.index), [undefined, 50, 60, 0, 12]);
    assert.ok(events.includes('reset service:web 60→12'), events.join('\n'));
    assert.equal(store.get('web')?.consulIndex, 12);
    assert.deepEqual(store.get('web')?.endpoints.map((e) => e.address), ['10.0.0.3'], 'the reset answer replaced a set held at a higher index');
  });

  test('never blocks on an index below 1', async (t) => {
    const s = scriptedSource({
      services: (_read, n) => (n <= 2 ? { index: 0, services: [] } : s.block()),
      service: () => () => s.block(),
    });
    startWatch(t, s.source);
    await until(() => s.readsOf('services').length === 3, s.subscribe, 2_000, 'three list reads');
    assert.deepEqual(s.readsOf('services').map((r) => r.index), [undefined, 1, 1]);
  });

  test('each loop is rate-limited: reads that return at once are spaced by minIntervalMs', async (t) => {
    const s = scriptedSource({
      services: (_read, n) => (n <= 5 ? { index: 7, services: [] } : s.block()),
      service: () => () => s.block(),
    });
    startWatch(t, s.source, { minIntervalMs: 30 });
    await until(() => s.readsOf('services').length === 6, s.subscribe, 10_000, 'six list reads');
    // The first read belongs to the initial load; the loop's own reads start with the second.
    const times = s.readsOf('services').slice(1).map((r) => r.at);
    for (let i = 1; i < times.length; i += 1) {
      // Timers may fire up to a millisecond early in performance.now() terms.
      assert.ok(times[i]! - times[i - 1]! >= 29, `gap ${i}: ${(times[i]! - times[i - 1]!).toFixed(1)} ms`);
    }
  });

  test('errors back off exponentially up to the cap, then the loop resumes at the same index', async (t) => {
    const s = scriptedSource({
      services: (_read, n) => {
        if (n === 1) return { index: 9, services: [] };
        if (n <= 6) throw new TransientError(`Consul GET /v1/catalog/services answered 500 (${n})`, 'consul');
        return n === 7 ? { index: 9, services: [] } : s.block();
      },
      service: () => () => s.block(),
    });
    const { watch, events } = startWatch(t, s.source, { initialBackoffMs: 5, maxBackoffMs: 30 });
    await until(() => s.readsOf('services').length === 8, s.subscribe, 3_000, 'recovery');
    const errors = events.filter((e) => e.startsWith('error'));
    assert.deepEqual(errors, [2, 3, 4, 5, 6].map((n, i) => `error services Consul GET /v1/catalog/services answered 500 (${n}) retry ${[5, 10, 20, 30, 30][i]}`));
    assert.deepEqual(s.readsOf('services').map((r) => r.index), [undefined, 9, 9, 9, 9, 9, 9, 9]);
    const reads = s.readsOf('services');
    [5, 10, 20, 30, 30].forEach((pause, k) => {
      const gap = reads[k + 2]!.at - reads[k + 1]!.at;
      assert.ok(gap >= pause - 1, `pause ${k + 1} was ${gap.toFixed(1)} ms, expected ≥ ${pause}`);
    });
    assert.deepEqual(events.filter((e) => e.startsWith('state')), ['state watching', 'state backoff', 'state watching']);
    assert.equal(watch.state, 'watching');
  });

  test("Consul's Retry-After lengthens the pause (within the cap); jitter halves it at most", async (t) => {
    const s = scriptedSource({
      services: (_read, n) => {
        if (n === 1) return { index: 3, services: [] };
        if (n === 2) throw new TransientError('Consul GET /v1/catalog/services answered 429', 'consul', 200);
        if (n === 3) throw new TransientError('Consul GET /v1/catalog/services answered 500', 'consul');
        return s.block();
      },
      service: () => () => s.block(),
    });
    const { events } = startWatch(t, s.source, { initialBackoffMs: 20, maxBackoffMs: 100, random: () => 0 });
    await until(() => s.readsOf('services').length === 4, s.subscribe, 3_000, 'two retries');
    assert.deepEqual(
      events.filter((e) => e.startsWith('error')),
      ['error services Consul GET /v1/catalog/services answered 429 retry 100', 'error services Consul GET /v1/catalog/services answered 500 retry 20'],
      'Retry-After 200 ms capped at 100; then 40 ms of backoff halved by jitter 0',
    );
  });

  test('the first load is retried until it succeeds; nothing is published before', async (t) => {
    const s = scriptedSource({
      services: (_read, n) => (n === 1 ? { index: 4, services: ['web'] } : n === 2 ? { index: 4, services: ['web'] } : s.block()),
      service: () => (_read, n) => {
        if (n === 1) throw new TransientError('Consul GET /v1/health/service/web failed: socket hang up', 'consul');
        return n === 2 ? endpointSet('web', 4, []) : s.block();
      },
    });
    const { watch, recorder, events } = startWatch(t, s.source);
    await watch.loaded;
    assert.deepEqual(events.filter((e) => e.startsWith('error')), ['error initial-load Consul GET /v1/health/service/web failed: socket hang up retry 5']);
    assert.equal(recorder.states.length, 1, 'one publish, after the complete load');
    assert.deepEqual([...recorder.states[0]!.services.keys()], ['web']);
  });

  test('services that leave the list stop being watched and are forgotten; new ones start at index 0', async (t) => {
    const lists = [
      { index: 10, services: ['api', 'web'] },
      { index: 20, services: ['web', 'worker'] },
    ];
    const s = scriptedSource({
      services: (_read, n) => lists[n - 1] ?? s.block(),
      service: (name) => (_read, n) => (n === 1 ? endpointSet(name, 8, [endpoint('10.0.0.1')]) : s.block()),
    });
    const { watch, store, recorder } = startWatch(t, s.source);
    await recorder.waitFor((state) => state.services.has('worker') && !state.services.has('api'), 2_000, 'worker in, api out');
    assert.deepEqual(store.serviceNames(), ['web', 'worker']);
    assert.deepEqual(watch.watchedServices(), ['web', 'worker']);
    assert.deepEqual(s.readsOf('service:worker').map((r) => r.index).slice(0, 1), [0]);
  });

  test('close ends blocked reads and pending pauses at once', async (t) => {
    const s = scriptedSource({
      services: (_read, n) => (n === 1 ? { index: 3, services: ['web'] } : s.block()),
      service: () => (_read, n) => {
        if (n === 1) return endpointSet('web', 3, []);
        throw new TransientError('down', 'consul');
      },
    });
    const { watch } = startWatch(t, s.source, { initialBackoffMs: 60_000, maxBackoffMs: 60_000 });
    await until(() => s.readsOf('service:web').length === 2, s.subscribe, 2_000, 'the failing read');
    const started = performance.now();
    await watch.close();
    assert.ok(performance.now() - started < 1_000, 'close did not wait for the 60 s pause');
    assert.equal(watch.state, 'stopped');
  });
});
