import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReconcileCoalescer } from '../../src/shared/reconcile/coalescer';
import type { ScaleSetRef } from '../../src/shared/model';
import { scaleSetRef } from '../../src/shared/resource-id';

/** Scale set `name` of one resource group: a fresh (equal, not identical) reference each call. */
const set = (name: string): ScaleSetRef => scaleSetRef('s1', 'rg', name);

/** A run whose completion the test controls. */
function controllableRuns() {
  const runs: Array<{ key: string; ref: ScaleSetRef; source: string | undefined; resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  let counter = 0;
  const run = (ref: ScaleSetRef, source: string | undefined) =>
    new Promise<number>((resolve, reject) => {
      counter += 1;
      runs.push({ key: ref.name, ref, source, resolve: () => resolve(counter), reject });
    });
  return { runs, run };
}

const tick = () => new Promise((r) => setImmediate(r));

test('coalescer: a burst during a run becomes exactly one trailing run shared by all', async () => {
  const { runs, run } = controllableRuns();
  let clock = 1000;
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0, now: () => clock });
  const first = c.request(set('a'), 900);
  clock = 1100;
  const burst = Array.from({ length: 50 }, () => c.request(set('a'), 1050)); // events after the first run started
  await tick();
  assert.equal(runs.length, 1);
  runs[0]!.resolve(0);
  assert.equal((await first).via, 'ran');
  await tick();
  assert.equal(runs.length, 2, 'one trailing run, not fifty');
  runs[1]!.resolve(0);
  const results = await Promise.all(burst);
  assert.ok(results.every((r) => r.via === 'joined' && r.result === 2));
});

test('coalescer: a run that started after the event covers it; an older one does not', async () => {
  const { runs, run } = controllableRuns();
  let clock = 1000;
  const c = new ReconcileCoalescer(run, { coverMarginMs: 100, now: () => clock });
  const p = c.request(set('a'));
  runs[0]!.resolve(0);
  await p;
  clock = 5000;
  // Event at 850: the run started at 1000 ≥ 850 + 100 → covered, no new run.
  assert.equal((await c.request(set('a'), 850)).via, 'covered');
  assert.equal(runs.length, 1);
  // Event at 950: 1000 < 950 + 100 → needs a new run.
  const q = c.request(set('a'), 950);
  await tick();
  assert.equal(runs.length, 2);
  runs[1]!.resolve(0);
  assert.equal((await q).via, 'ran');
  // Without an event time a fresh run is always made.
  const r = c.request(set('a'));
  await tick();
  assert.equal(runs.length, 3);
  runs[2]!.resolve(0);
  await r;
});

test('coalescer: scale sets are independent, and a failed run is retried by the trailing one', async () => {
  const { runs, run } = controllableRuns();
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0 });
  const a = c.request(set('a'));
  const b = c.request(set('b'));
  await tick();
  assert.deepEqual(runs.map((r) => r.key), ['a', 'b']);
  const a2 = c.request(set('a'));
  runs[0]!.reject(new Error('ARM throttled'));
  await assert.rejects(a, /ARM throttled/);
  await tick();
  assert.equal(runs.length, 3);
  assert.equal(runs[2]!.key, 'a');
  runs[2]!.resolve(0);
  runs[1]!.resolve(0);
  assert.equal((await a2).via, 'joined');
  await b;
});

test('coalescer: a failed run never counts as covering a later hint', async () => {
  const { runs, run } = controllableRuns();
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0, now: () => 1000 });
  const failed = c.request(set('a'));
  runs[0]!.reject(new Error('Consul unreachable'));
  await assert.rejects(failed, /Consul unreachable/);
  const again = c.request(set('a'), 0);
  await tick();
  assert.equal(runs.length, 2, 'the hint got a run of its own');
  runs[1]!.resolve(0);
  assert.equal((await again).via, 'ran');
  assert.equal((await c.request(set('a'), 0)).via, 'covered');
  assert.equal(runs.length, 2);
});

test('coalescer: idle scale sets are forgotten after forgetAfterMs, busy ones are kept', async () => {
  const { runs, run } = controllableRuns();
  let clock = 0;
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0, now: () => clock, forgetAfterMs: 1000 });
  const a = c.request(set('a'));
  runs[0]!.resolve(0);
  await a;
  const b = c.request(set('b')); // stays in flight
  await tick();
  assert.equal(c.size, 2);
  clock = 5000;
  const d = c.request(set('c'));
  await tick();
  assert.equal(c.size, 2, '"a" was idle and old: forgotten; "b" is in flight; "c" is new');
  runs[1]!.resolve(0);
  runs[2]!.resolve(0);
  await Promise.all([b, d]);
});

test('coalescer: keyed by the scale set reference; the run is handed the reference it was asked for', async () => {
  const { runs, run } = controllableRuns();
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0 });
  const asked = scaleSetRef('S1', 'RG', 'Web');
  const first = c.request(asked);
  const same = c.request(scaleSetRef('s1', 'rg', 'web')); // another spelling, the same scale set
  const other = c.request(scaleSetRef('s1', 'rg2', 'web')); // same name, another resource group
  await tick();
  assert.equal(runs.length, 2, 'one run per scale set');
  assert.equal(runs[0]!.ref, asked, 'the run gets the reference itself, not one parsed back from its ID');
  assert.equal(runs[1]!.ref.id, '/subscriptions/s1/resourcegroups/rg2/providers/microsoft.compute/virtualmachinescalesets/web');
  runs[0]!.resolve(0);
  runs[1]!.resolve(0);
  assert.equal((await first).via, 'ran');
  assert.equal((await other).via, 'ran');
  await tick();
  assert.equal(runs.length, 3, 'the second request (no event time) gets the trailing run');
  assert.equal(runs[2]!.ref.id, asked.id);
  runs[2]!.resolve(0);
  assert.equal((await same).via, 'joined');
});

test('coalescer: a result `covering` rejects goes to the requests that waited for its run, never to later ones', async () => {
  const runs: Array<{ resolve: (v: string) => void }> = [];
  const run = () => new Promise<string>((resolve) => runs.push({ resolve }));
  let clock = 1000;
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0, now: () => clock, covering: (result) => result !== 'unknown' });
  const listed = c.request(set('a'), 900);
  await tick();
  runs[0]!.resolve('applied');
  assert.deepEqual(await listed, { result: 'applied', via: 'ran' });
  clock = 2000;
  const failing = c.request(set('a'), 1500);
  const joining = c.request(set('a'), 1500);
  await tick();
  assert.equal(runs.length, 2);
  runs[1]!.resolve('unknown');
  assert.deepEqual(await failing, { result: 'unknown', via: 'ran' });
  assert.deepEqual(await joining, { result: 'unknown', via: 'joined' }, 'a request that waited for the run gets its result');
  clock = 3000;
  // The same event again (a redelivery): the run at 2000 started after it but could not list.
  const again = c.request(set('a'), 1500);
  await tick();
  assert.equal(runs.length, 3, 'a new run, not the remembered unknown');
  runs[2]!.resolve('unchanged');
  assert.deepEqual(await again, { result: 'unchanged', via: 'ran' });
  // An earlier run that did list still covers what happened before it.
  assert.deepEqual(await c.request(set('a'), 2500), { result: 'unchanged', via: 'covered' });
  assert.equal(runs.length, 3);
});

test('coalescer: a later run that cannot cover leaves the earlier covering result in place', async () => {
  const runs: Array<{ resolve: (v: string) => void }> = [];
  const run = () => new Promise<string>((resolve) => runs.push({ resolve }));
  let clock = 1000;
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0, now: () => clock, covering: (result) => result !== 'unknown' });
  const first = c.request(set('a'));
  await tick();
  runs[0]!.resolve('applied');
  await first;
  clock = 2000;
  const second = c.request(set('a'));
  await tick();
  runs[1]!.resolve('unknown');
  await second;
  assert.deepEqual(await c.request(set('a'), 500), { result: 'applied', via: 'covered' }, 'the run at 1000 listed after the event at 500');
  assert.equal(runs.length, 2);
});

test('coalescer: without `covering` every result covers (an unknown one too)', async () => {
  const runs: Array<{ resolve: (v: string) => void }> = [];
  const run = () => new Promise<string>((resolve) => runs.push({ resolve }));
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0, now: () => 1000 });
  const first = c.request(set('a'));
  await tick();
  runs[0]!.resolve('unknown');
  await first;
  assert.deepEqual(await c.request(set('a'), 500), { result: 'unknown', via: 'covered' });
});

test('coalescer: the run is handed the source of the request that started it; busy while in flight or queued', async () => {
  const { runs, run } = controllableRuns();
  const c = new ReconcileCoalescer(run, { coverMarginMs: 0, now: () => 1000 });
  assert.equal(c.busy(set('a')), false);
  const hint = c.request(set('a'), 900, 'hint');
  assert.equal(c.busy(set('a')), true, 'busy as soon as the request returns');
  const sweep = c.request(set('a'), undefined, 'timer'); // no event time: the trailing run, started by this request
  const late = c.request(set('a'), undefined, 'other'); // joins that trailing run
  await tick();
  assert.deepEqual(runs.map((r) => r.source), ['hint']);
  runs[0]!.resolve(0);
  await hint;
  await tick();
  assert.deepEqual(runs.map((r) => r.source), ['hint', 'timer']);
  assert.equal(c.busy(set('a')), true);
  runs[1]!.resolve(0);
  assert.equal((await sweep).via, 'joined');
  assert.equal((await late).via, 'joined');
  assert.equal((await sweep).result, (await late).result);
  assert.equal(c.busy(set('a')), false);
  assert.equal(c.busy(set('b')), false);
});

test('coalescer: a request between the end of the run in flight and the start of the trailing one joins the trailing run', async () => {
  // Once the run in flight settles, the trailing run starts a few microtasks later; a request in
  // that gap must not start a run of its own beside it. Checked after every number of microtasks:
  // never two runs of one scale set at once, and the request is busy-waiting from the start.
  for (let yields = 0; yields < 6; yields += 1) {
    const { runs, run } = controllableRuns();
    let active = 0;
    let mostActive = 0;
    const counted = (ref: ScaleSetRef, source: string | undefined) => {
      active += 1;
      mostActive = Math.max(mostActive, active);
      return run(ref, source).finally(() => (active -= 1));
    };
    const c = new ReconcileCoalescer(counted, { coverMarginMs: 0, now: () => 1000 });
    void c.request(set('a'), 900, 'hint-1');
    void c.request(set('a'), 1500, 'hint-2'); // the event came after the run started: trailing
    runs[0]!.resolve(0);
    for (let i = 0; i < yields; i += 1) await Promise.resolve();
    assert.equal(c.busy(set('a')), true, `busy after ${yields} microtask(s)`);
    let swept = false;
    const sweep = c.request(set('a'), undefined, 'timer').finally(() => (swept = true));
    for (let done = 1; !swept && done < 10; done += 1) {
      await tick();
      runs[done]?.resolve(0);
    }
    await sweep;
    assert.equal(mostActive, 1, `one run at a time after ${yields} microtask(s)`);
    assert.deepEqual(runs.slice(0, 2).map((r) => r.source), ['hint-1', 'hint-2']);
  }
});
