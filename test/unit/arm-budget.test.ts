/**
 * ARM's remaining-reads headers: what is read from them, what is ignored (never thrown), the
 * process's per-subscription record over a window, the pacing levels, and a sweep's pace over its readings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArmReadBudget, DEFAULT_PACING, PACING_READING_MAX_AGE_MS, RunBudgetReadings, SweepBudgetWatch, budgetLevel, nextReadingSeq, pacingFor, parseBudgetHeaders, resolvePacing, subscriptionOfUrl } from '../../src/shared/azure/arm-budget';
import { SweepPacer } from '../../src/shared/reconcile/reconcile-run';

const SUB = '00000000-0000-4000-8000-00000000000A';
const headers = (values: Record<string, string>) => (name: string) => values[name];

test('reads the subscription, global and resource-provider headers of one answer', () => {
  const { readings, ignored } = parseBudgetHeaders(
    headers({
      'x-ms-ratelimit-remaining-subscription-reads': '249',
      'x-ms-ratelimit-remaining-subscription-global-reads': ' 3749 ',
      'x-ms-ratelimit-remaining-resource': 'Microsoft.Compute/GetVMScaleSet3Min;197,Microsoft.Compute/GetVMScaleSet30Min;1297, Microsoft.Compute/HighCostGet3Min;0',
    }),
    SUB,
    1000,
  );
  assert.deepEqual(ignored, []);
  assert.deepEqual(
    readings.map((r) => [r.subscriptionId, r.source, r.remaining, r.at]),
    [
      [SUB.toLowerCase(), 'x-ms-ratelimit-remaining-subscription-reads', 249, 1000],
      [SUB.toLowerCase(), 'x-ms-ratelimit-remaining-subscription-global-reads', 3749, 1000],
      [SUB.toLowerCase(), 'x-ms-ratelimit-remaining-resource Microsoft.Compute/GetVMScaleSet3Min', 197, 1000],
      [SUB.toLowerCase(), 'x-ms-ratelimit-remaining-resource Microsoft.Compute/GetVMScaleSet30Min', 1297, 1000],
      [SUB.toLowerCase(), 'x-ms-ratelimit-remaining-resource Microsoft.Compute/HighCostGet3Min', 0, 1000],
    ],
  );
});

test('garbage values are ignored with the reason, the good ones still read', () => {
  const long = 'x'.repeat(500);
  const { readings, ignored } = parseBudgetHeaders(
    headers({
      'x-ms-ratelimit-remaining-subscription-reads': '-3',
      'x-ms-ratelimit-remaining-subscription-global-reads': '12.5',
      'x-ms-ratelimit-remaining-subscription-resource-requests': long,
      'x-ms-ratelimit-remaining-subscription-resource-entities-read': '',
      'x-ms-ratelimit-remaining-resource': 'Microsoft.Compute/HighCostGet3Min;abc,;,Microsoft.Compute/GetVMScaleSet3Min;12,no-semicolon,Microsoft.Compute/X;99999999999999999999',
    }),
    SUB,
    0,
  );
  assert.deepEqual(readings.map((r) => [r.source, r.remaining]), [['x-ms-ratelimit-remaining-resource Microsoft.Compute/GetVMScaleSet3Min', 12]]);
  assert.deepEqual(
    ignored.map((i) => [i.header, i.value, i.reason]),
    [
      ['x-ms-ratelimit-remaining-subscription-reads', '-3', 'expected a non-negative integer'],
      ['x-ms-ratelimit-remaining-subscription-global-reads', '12.5', 'expected a non-negative integer'],
      ['x-ms-ratelimit-remaining-subscription-resource-requests', `${'x'.repeat(200)}…`, 'expected a non-negative integer'],
      ['x-ms-ratelimit-remaining-subscription-resource-entities-read', '', 'expected a non-negative integer'],
      ['x-ms-ratelimit-remaining-resource', 'Microsoft.Compute/HighCostGet3Min;abc', 'expected <provider>/<policy>;<non-negative integer>'],
      ['x-ms-ratelimit-remaining-resource', ';', 'expected <provider>/<policy>;<non-negative integer>'],
      ['x-ms-ratelimit-remaining-resource', 'no-semicolon', 'expected <provider>/<policy>;<non-negative integer>'],
      ['x-ms-ratelimit-remaining-resource', 'Microsoft.Compute/X;99999999999999999999', 'expected <provider>/<policy>;<non-negative integer>'],
    ],
  );
});

test('the subscription comes from the request URL; tenant-level calls have none', () => {
  assert.equal(subscriptionOfUrl(`https://management.azure.com/subscriptions/${SUB}/resourceGroups/rg?api-version=1`), SUB.toLowerCase());
  assert.equal(subscriptionOfUrl('https://management.azure.com/SUBSCRIPTIONS/abc'), 'abc');
  assert.equal(subscriptionOfUrl('https://management.azure.com/tenants?api-version=1'), undefined);
  assert.equal(subscriptionOfUrl('not a url'), undefined);
});

test('the process record keeps, per subscription, the lowest value within the window and where each header stands now', () => {
  const budget = new ArmReadBudget(10 * 60_000);
  const reading = (sub: string, source: string, remaining: number, at: number) => ({ subscriptionId: sub, source, remaining, at, seq: nextReadingSeq() });
  const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
  budget.record(reading('a', 'reads', 40, t0));
  budget.record(reading('a', 'reads', 200, t0 + 60_000));
  budget.record(reading('a', 'global-reads', 3000, t0 + 60_000));
  budget.record(reading('b', 'reads', 120, t0 + 30_000));
  assert.deepEqual(budget.snapshot(t0 + 2 * 60_000), [
    { subscriptionId: 'a', lowestRemaining: 40, lowestSource: 'reads', lowestAt: new Date(t0).toISOString(), latestRemaining: 200, latestAt: new Date(t0 + 60_000).toISOString() },
    { subscriptionId: 'b', lowestRemaining: 120, lowestSource: 'reads', lowestAt: new Date(t0 + 30_000).toISOString(), latestRemaining: 120, latestAt: new Date(t0 + 30_000).toISOString() },
  ]);
  // Eleven minutes on, the 40 has left the window; b has nothing recent any more.
  assert.deepEqual(budget.snapshot(t0 + 11 * 60_000).map((s) => [s.subscriptionId, s.lowestRemaining, s.latestRemaining]), [['a', 200, 200]]);
  assert.throws(() => new ArmReadBudget(0), { name: 'TypeError', message: 'windowMs must be a positive number of ms, got 0' });
});

test('levels and pacing: below low half the concurrency with a pause, below critical one at a time', () => {
  assert.equal(budgetLevel(undefined, DEFAULT_PACING), 'normal');
  assert.equal(budgetLevel(100, DEFAULT_PACING), 'normal');
  assert.equal(budgetLevel(99, DEFAULT_PACING), 'low');
  assert.equal(budgetLevel(25, DEFAULT_PACING), 'low');
  assert.equal(budgetLevel(24, DEFAULT_PACING), 'critical');
  assert.deepEqual(pacingFor('normal', 4, DEFAULT_PACING), { level: 'normal', concurrency: 4, spreadMs: 0 });
  assert.deepEqual(pacingFor('low', 4, DEFAULT_PACING), { level: 'low', concurrency: 2, spreadMs: 1000 });
  assert.deepEqual(pacingFor('low', 3, DEFAULT_PACING), { level: 'low', concurrency: 2, spreadMs: 1000 });
  assert.deepEqual(pacingFor('low', 1, DEFAULT_PACING), { level: 'low', concurrency: 1, spreadMs: 1000 });
  assert.deepEqual(pacingFor('critical', 4, DEFAULT_PACING), { level: 'critical', concurrency: 1, spreadMs: 3000 });
  assert.deepEqual(resolvePacing({ low: 10, critical: 10 }), { ...DEFAULT_PACING, low: 10, critical: 10 });
  assert.throws(() => resolvePacing({ critical: 1.5 }), { name: 'TypeError', message: 'armBudget.critical must be an integer from 0 to 1000000 (remaining reads), got 1.5' });
  assert.throws(() => resolvePacing({ criticalSpreadMs: 60_001 }), { name: 'TypeError', message: 'armBudget.criticalSpreadMs must be a number of ms from 0 to 60000, got 60001' });
});

test('a sweep’s pace follows the latest readings down and back up, and wakes parked workers', async () => {
  let pacer: SweepPacer | undefined;
  const watch = new SweepBudgetWatch(() => pacer?.update());
  const seen: string[] = [];
  pacer = new SweepPacer(watch, 4, DEFAULT_PACING, (c) => seen.push(`${c.level}/${c.concurrency}/${c.spreadMs}@${c.afterUnits}:${c.remaining ?? '-'}`));
  const reading = (remaining: number, source = 'x-ms-ratelimit-remaining-subscription-reads') => watch.onReading({ subscriptionId: 's', source, remaining, at: Date.now(), seq: nextReadingSeq() });
  reading(200);
  pacer.started = 3;
  reading(60);
  assert.equal(pacer.pacing.concurrency, 2);
  // A second header lower still decides; the first one recovering does not lift it.
  reading(10, 'x-ms-ratelimit-remaining-resource Microsoft.Compute/HighCostGet3Min');
  reading(240);
  assert.equal(pacer.pacing.level, 'critical');
  let woke = false;
  const parked = pacer.parked().then(() => (woke = true));
  reading(150, 'x-ms-ratelimit-remaining-resource Microsoft.Compute/HighCostGet3Min');
  await parked;
  assert.equal(woke, true);
  assert.deepEqual(pacer.pacing, { level: 'normal', concurrency: 4, spreadMs: 0 });
  assert.deepEqual(seen, ['normal/4/0@0:-', 'low/2/1000@3:60', 'critical/1/3000@3:10', 'normal/4/0@3:150']);
  assert.equal(watch.lowest?.remaining, 10);
});

const READS = 'x-ms-ratelimit-remaining-subscription-reads';
const ENTITIES = 'x-ms-ratelimit-remaining-subscription-resource-entities-read';

test('a header the sweep does not hear again stops holding its pace once it is older than the window', () => {
  let now = 1_000_000;
  let pacer: SweepPacer | undefined;
  const watch = new SweepBudgetWatch(() => pacer?.update(), { now: () => now });
  pacer = new SweepPacer(watch, 4, DEFAULT_PACING, undefined);
  const reading = (remaining: number, source = READS) => watch.onReading({ subscriptionId: 's', source, remaining, at: now, seq: nextReadingSeq() });
  reading(200);
  // A one-off answer (the NIC group listing) reports a collection-reads limit nearly spent.
  reading(10, ENTITIES);
  assert.equal(pacer.pacing.level, 'critical');
  // Within the window it still counts, however many fresh readings of the other header come.
  now += PACING_READING_MAX_AGE_MS;
  reading(200);
  assert.equal(pacer.pacing.level, 'critical');
  assert.equal(watch.current()?.source, ENTITIES);
  // Past the window it no longer does; the header the sweep keeps hearing decides.
  now += 1;
  reading(200);
  assert.deepEqual(pacer.pacing, { level: 'normal', concurrency: 4, spreadMs: 0 });
  assert.deepEqual([watch.current()?.source, watch.current()?.remaining], [READS, 200]);
  // What the sweep saw stays in its report.
  assert.deepEqual([watch.lowest?.source, watch.lowest?.remaining], [ENTITIES, 10]);
  // Heard again, it counts again.
  reading(30, ENTITIES);
  assert.equal(pacer.pacing.level, 'low');
  // Every reading aged out: nothing to pace on.
  now += PACING_READING_MAX_AGE_MS + 1;
  assert.equal(watch.current(), undefined);
});

test('an older answer read after a newer one does not replace it, even within the same millisecond', () => {
  const at = 5_000;
  const older = { subscriptionId: 's', source: READS, remaining: 60, at, seq: nextReadingSeq() };
  const newer = { subscriptionId: 's', source: READS, remaining: 20, at, seq: nextReadingSeq() };
  const watch = new SweepBudgetWatch(undefined, { now: () => at });
  watch.onReading(newer);
  watch.onReading(older);
  assert.equal(watch.current()?.remaining, 20);
  // The process record orders them the same way.
  const budget = new ArmReadBudget();
  budget.record(newer);
  budget.record(older);
  assert.equal(budget.snapshot(at)[0]?.latestRemaining, 20);
  // Parsed answers are numbered in the order they are read.
  const first = parseBudgetHeaders(headers({ [READS]: '9' }), SUB, at).readings[0]!;
  const second = parseBudgetHeaders(headers({ [READS]: '8' }), SUB, at).readings[0]!;
  assert.ok(second.seq > first.seq);
});

test('a run keeps the latest reading of each header and the lowest; a sweep folding them sees what the run saw', () => {
  const at = 7_000;
  const reading = (remaining: number, source = READS, subscriptionId = 's') => ({ subscriptionId, source, remaining, at, seq: nextReadingSeq() });
  const run = new RunBudgetReadings();
  const low = reading(12);
  const readings = [reading(40), low, reading(30), reading(200, ENTITIES), reading(90, READS, 't'), reading(35)];
  for (const r of readings) run.onReading(r);
  // The lowest (12) was not the latest of its header (35): both are kept, in the order read.
  assert.deepEqual(run.list().map((r) => `${r.subscriptionId}/${r.remaining}`), ['s/12', 's/200', 't/90', 's/35']);
  let changes = 0;
  const watch = new SweepBudgetWatch(() => (changes += 1), { now: () => at });
  watch.fold(run.list());
  assert.equal(watch.lowest, low);
  assert.equal(watch.current()?.remaining, 35);
  assert.equal(changes, 4);
  // Readings it had seen already (observed live, then folded from the report) change nothing.
  watch.fold(run.list());
  assert.equal(watch.current()?.remaining, 35);
  assert.equal(watch.lowest, low);
});

test('a folded reading ages from when ARM answered it, not from the fold', () => {
  let now = 100_000;
  const watch = new SweepBudgetWatch(undefined, { now: () => now, maxAgeMs: 30_000 });
  // Heard 20 s before the run ended and the sweep folded it: it counts 10 s more, not 30.
  watch.fold([{ subscriptionId: 's', source: READS, remaining: 5, at: now - 20_000, seq: nextReadingSeq() }]);
  assert.equal(watch.current()?.remaining, 5);
  now += 10_001;
  assert.equal(watch.current(), undefined);
  // Heard 60 s before: too old to count at all, though still the lowest the sweep saw.
  watch.fold([{ subscriptionId: 's', source: READS, remaining: 3, at: now - 60_000, seq: nextReadingSeq() }]);
  assert.equal(watch.current(), undefined);
  assert.equal(watch.lowest?.remaining, 3);
});
