/**
 * The timer sweep and the hints share the Reconciler's coalescer (issue 14, item 4): a hint that
 * arrives while the sweep reconciles its scale set joins that run; a sweep that reaches a scale set
 * whose hint run is in flight gets a run of its own that starts after it (never an earlier one), and
 * a Flexible set in that case is left out of its group's shared NIC listing instead of holding it
 * back. A run that could not list ARM (`unknown`) covers no later hint, the sweep's or a hint's.
 * Real reconciler, real inventory against the ARM emulator, real registry against the Consul double;
 * the first GET of one scale set can be held to make the runs overlap.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { nextReadingSeq, reportToObservers } from '../../src/shared/azure/arm-budget';
import { createAzureInventory } from '../../src/shared/azure/azure-inventory';
import { noRelayPublisher } from '../../src/shared/endpoints';
import { TransientError } from '../../src/shared/errors';
import type { ReconcileHint, ScaleSetRef } from '../../src/shared/model';
import type { InventoryPort } from '../../src/shared/reconcile/ports';
import { Reconciler } from '../../src/shared/reconcile/reconciler';
import { scaleSetRef } from '../../src/shared/resource-id';
import { SUBSCRIPTION, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';
import { registryFor, startDouble } from '../helpers/consul-fixtures';
import { until } from '../helpers/relay-inputs';

const RESOURCE_GROUP = 'rg-mesh';

/**
 * Scale sets in the ARM emulator; the first GET of `held` (if any) waits for `letGo()`. `onLookup` is
 * called in each scale set GET (in the run's async context) with how many GETs that set has had.
 */
async function world(t: TestContext, sets: ReadonlyArray<{ name: string; mode: 'Uniform' | 'Flexible' }>, held?: string, onLookup?: (name: string, nth: number) => void) {
  const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { createDelayMs: 0, drainMs: 0 } } });
  for (const { name, mode } of sets) arm.world.createScaleSet(scaleSetInput({ name, orchestrationMode: mode, capacity: 2 }));
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const inner = createAzureInventory(clients, { subscriptions: [SUBSCRIPTION], resourceGroups: [] });
  /** Each scale set GET (one per run), and whether the held one had been let go by then. */
  const lookups: Array<{ name: string; released: boolean }> = [];
  const gathered: string[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let released = false;
  const watchers = new Set<() => void>();
  const changed = () => watchers.forEach((wake) => wake());
  const inventory: InventoryPort = {
    ...inner,
    lookupScaleSet: async (ref: ScaleSetRef) => {
      const first = !lookups.some((l) => l.name === ref.name);
      lookups.push({ name: ref.name, released });
      onLookup?.(ref.name, lookups.filter((l) => l.name === ref.name).length);
      changed();
      if (ref.name === held && first) await gate;
      return inner.lookupScaleSet(ref);
    },
    gatherFlexibleListings: (group, ids) => {
      gathered.push(ids.map((id) => id.split('/').at(-1)!));
      changed();
      return inner.gatherFlexibleListings(group, ids);
    },
  };
  const reconciler = new Reconciler({ inventory, registry, publisher: noRelayPublisher, maxRemovalShare: 1 });
  const letGo = () => {
    released = true;
    release();
  };
  /** Resolves once `condition()` holds, re-checked at each scale set GET and each gathering. */
  const waitFor = (condition: () => boolean, what: string) =>
    until(condition, (wake) => {
      watchers.add(wake);
      return () => watchers.delete(wake);
    }, 20_000, what);
  return { arm, reconciler, lookups, gathered, letGo, waitFor, count: (name: string) => lookups.filter((l) => l.name === name).length };
}

function hintFor(name: string, eventTime: number): ReconcileHint {
  return {
    target: { kind: 'scale-set', ref: scaleSetRef(SUBSCRIPTION, RESOURCE_GROUP, name) },
    reason: 'event:test',
    eventTime: new Date(eventTime).toISOString(),
    eventId: `e-${name}-${eventTime}`,
  };
}

const listingFails = (error: unknown) => error instanceof TransientError && /ARM could not list .*\/web/.test(error.message);

test('a hint that arrives while the sweep reconciles its scale set joins the sweep’s run: one run, one report', async (t) => {
  const w = await world(t, [{ name: 'web', mode: 'Uniform' }, { name: 'api', mode: 'Uniform' }], 'web');
  const sweep = w.reconciler.reconcileAll('timer');
  await w.waitFor(() => w.count('web') === 1, 'the sweep’s run of web to start');
  // The change happened well before the sweep's run started: that run covers it.
  const hint = w.reconciler.reconcileHint(hintFor('web', Date.now() - 60_000));
  w.letGo();
  const [result, run] = await Promise.all([hint, sweep]);
  assert.deepEqual(run.failures, []);
  assert.equal(result.kind, 'reconciled');
  assert.equal(result.kind === 'reconciled' && result.via, 'joined');
  assert.equal(w.count('web'), 1, 'no second run for the hint');
  const swept = run.reports.find((r) => r.scaleSetId === result.ref.id);
  assert.ok(swept);
  assert.equal(result.kind === 'reconciled' && result.result, swept, 'the hint got the sweep’s own report');
  assert.equal(swept.outcome, 'applied');
  assert.equal(swept.source, 'timer', 'the report names what started the run: the sweep');
});

test('a sweep that reaches a scale set whose hint run is in flight gets a run that starts after it', async (t) => {
  const w = await world(t, [{ name: 'web', mode: 'Uniform' }, { name: 'api', mode: 'Uniform' }], 'web');
  const hint = w.reconciler.reconcileHint(hintFor('web', Date.now()));
  await w.waitFor(() => w.count('web') === 1, 'the hint’s run of web to start');
  const sweep = w.reconciler.reconcileAll('timer');
  await w.waitFor(() => w.count('api') === 1, 'the sweep to reach api');
  assert.equal(w.count('web'), 1, 'the sweep’s run of web waits for the hint’s');
  w.letGo();
  const [result, run] = await Promise.all([hint, sweep]);
  assert.deepEqual(run.failures, []);
  assert.equal(result.kind === 'reconciled' && result.via, 'ran');
  const web = w.lookups.filter((l) => l.name === 'web');
  assert.equal(web.length, 2, 'the sweep ran web itself');
  assert.equal(web[1]!.released, true, 'and only after the hint’s run went on');
  const swept = run.reports.find((r) => r.scaleSetId.endsWith('/web'));
  assert.ok(swept && result.kind === 'reconciled' && swept !== result.result, 'the sweep reports its own run');
  assert.equal(swept.outcome, 'unchanged', 'the hint’s run had applied everything');
});

test('a sweep that shares a trailing run a hint queued paces on, and reports, that run’s ARM budget readings', async (t) => {
  const COMPUTE = 'x-ms-ratelimit-remaining-resource Microsoft.Compute/HighCostGet3Min';
  // The second run of web (the trailing one) hears that Compute's budget is nearly spent; the
  // emulator's own headers stay high (it reports no Compute policy). That run starts in the async
  // context of the hint that queued it.
  const w = await world(t, [{ name: 'web', mode: 'Uniform' }, { name: 'api', mode: 'Uniform' }], 'web', (name, nth) => {
    if (name === 'web' && nth === 2) reportToObservers({ subscriptionId: SUBSCRIPTION, source: COMPUTE, remaining: 3, at: Date.now(), seq: nextReadingSeq() });
  });
  const hintA = w.reconciler.reconcileHint(hintFor('web', Date.now() - 60_000));
  await w.waitFor(() => w.count('web') === 1, 'hint A’s run of web to start');
  // An event after that run started: hint B queues the trailing run.
  const hintB = w.reconciler.reconcileHint(hintFor('web', Date.now() + 1_000));
  const sweep = w.reconciler.reconcileAll('timer');
  await w.waitFor(() => w.count('api') === 1, 'the sweep to reach api (and web, in the same pass)');
  w.letGo();
  const [, resultB, run] = await Promise.all([hintA, hintB, sweep]);
  assert.deepEqual(run.failures, []);
  assert.equal(w.count('web'), 2, 'the sweep shared the trailing run');
  const swept = run.reports.find((r) => r.scaleSetId.endsWith('/web'));
  assert.ok(resultB.kind === 'reconciled' && swept === resultB.result, 'the sweep reports hint B’s run');
  assert.equal(swept.source, 'event:test', 'started by hint B (its reason)');
  assert.deepEqual(run.armBudget.lowest, { remaining: 3, source: COMPUTE, subscriptionId: SUBSCRIPTION.toLowerCase() });
  assert.equal(run.totals.armReadsRemaining, 3);
  assert.equal(run.armBudget.pacing.at(-1)?.level, 'critical', 'the pace followed the reading when the run ended');
  assert.match(run.totals.armBudgetNote, /^lowest ARM reads remaining 3 .*budget critical/);
});

test('a Flexible set whose hint run is in flight is left out of its group’s gathered NIC listing; the others share it', async (t) => {
  const sets = ['flex-0', 'flex-1', 'flex-2'].map((name) => ({ name, mode: 'Flexible' as const }));
  const w = await world(t, sets, 'flex-0');
  const hint = w.reconciler.reconcileHint(hintFor('flex-0', Date.now()));
  await w.waitFor(() => w.count('flex-0') === 1, 'the hint’s run of flex-0 to start');
  const sweep = w.reconciler.reconcileAll('timer');
  await w.waitFor(() => w.gathered.length === 1, 'the sweep to gather the group');
  assert.deepEqual(w.gathered, [['flex-1', 'flex-2']]);
  w.letGo();
  const [, run] = await Promise.all([hint, sweep]);
  assert.deepEqual(run.failures, []);
  assert.equal(run.reports.length, 3);
  assert.equal(w.count('flex-0'), 2, 'the sweep still ran flex-0 itself, after the hint’s run');
});

test('a hint whose event came before a finished sweep run is answered from it, without a run', async (t) => {
  const w = await world(t, [{ name: 'web', mode: 'Uniform' }]);
  const eventTime = Date.now() - 60_000;
  const run = await w.reconciler.reconcileAll('timer');
  assert.equal(run.reports[0]?.outcome, 'applied');
  const result = await w.reconciler.reconcileHint(hintFor('web', eventTime));
  assert.equal(result.kind === 'reconciled' && result.via, 'covered');
  assert.equal(result.kind === 'reconciled' && result.result, run.reports[0]);
  assert.equal(w.count('web'), 1);
});

test('a redelivered event whose run could not list ARM gets a new run, not the remembered unknown', async (t) => {
  const w = await world(t, [{ name: 'web', mode: 'Uniform' }]);
  const hint = hintFor('web', Date.now() - 60_000); // the run below starts well after it: it would cover it
  w.arm.faults.fail(50, { status: 500, pathIncludes: '/web/virtualMachines' });
  await assert.rejects(w.reconciler.reconcileHint(hint), listingFails);
  assert.equal(w.count('web'), 1);
  w.arm.faults.clear();
  const redelivered = await w.reconciler.reconcileHint(hint);
  assert.equal(w.count('web'), 2, 'a second run');
  assert.ok(redelivered.kind === 'reconciled');
  assert.equal(redelivered.via, 'ran');
  assert.equal(redelivered.result.outcome, 'applied');
  assert.equal(redelivered.result.registered, 2);
});

test('a sweep run that could not list ARM covers no hint whose event came before it', async (t) => {
  const w = await world(t, [{ name: 'web', mode: 'Uniform' }]);
  const eventTime = Date.now() - 60_000;
  w.arm.faults.fail(50, { status: 500, pathIncludes: '/web/virtualMachines' });
  const run = await w.reconciler.reconcileAll('timer');
  assert.equal(run.reports[0]?.outcome, 'unknown');
  w.arm.faults.clear();
  const result = await w.reconciler.reconcileHint(hintFor('web', eventTime));
  assert.ok(result.kind === 'reconciled');
  assert.equal(result.via, 'ran');
  assert.equal(result.result.outcome, 'applied');
  assert.equal(w.count('web'), 2);
});
