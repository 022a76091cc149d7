/**
 * The timer sweep paces itself on ARM's remaining-reads headers: the ARM emulator counts its token
 * buckets down and reports them, and the sweep lowers its concurrency (seen in the emulator's
 * concurrency counter and request log, not in timings) and still converges.
 * Real reconciler, real inventory and SDK clients against the ARM emulator, real registry against the Consul double.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ArmReadBudget } from '../../src/shared/azure/arm-budget';
import { createArmClients } from '../../src/shared/azure/arm-clients';
import { createAzureInventory } from '../../src/shared/azure/azure-inventory';
import { noRelayPublisher } from '../../src/shared/endpoints';
import type { PacingChange, RunOptions } from '../../src/shared/reconcile/reconcile-run';
import { Reconciler } from '../../src/shared/reconcile/reconciler';
import { startArmEmulator } from '../../src/sandbox/arm-emulator';
import type { ArmEmulatorOptions } from '../../src/sandbox/arm-emulator';
import { SUBSCRIPTION, TOKEN, scaleSetInput } from '../helpers/arm-fixture';
import { registryFor, startDouble } from '../helpers/consul-fixtures';

const SETS = 8;
const PER_SET = 2;

async function world(t: TestContext, emulator: ArmEmulatorOptions) {
  const arm = await startArmEmulator({ pageSize: 5, token: TOKEN, world: { lifecycle: { createDelayMs: 0, drainMs: 0 } }, ...emulator });
  t.after(() => arm.close());
  for (let i = 0; i < SETS; i += 1) arm.world.createScaleSet(scaleSetInput({ name: `web-${i}`, capacity: PER_SET }));
  const budget = new ArmReadBudget();
  const clients = createArmClients({ endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION }, { caPem: arm.caPem, budget, retry: { retryDelayInMs: 10, maxRetryDelayInMs: 50 } });
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const inventory = createAzureInventory(clients, { subscriptions: [SUBSCRIPTION], resourceGroups: [] });
  const reconciler = new Reconciler({ inventory, registry, publisher: noRelayPublisher, maxRemovalShare: 1 });
  /**
   * `gather`: the VM listings are held until that many are in flight at once (or one has waited
   * `deadlineMs`), so a sweep that runs that many scale sets at a time gets there whatever the
   * machine's load; no time window to be missed.
   */
  const sweep = async (options: RunOptions, gather?: { readonly together: number; readonly deadlineMs?: number }) => {
    arm.requests.clear();
    arm.concurrency.reset();
    const gathering = gather ? arm.faults.gather(SETS, { route: 'vmssVm.list', ...gather }) : undefined;
    const changes: PacingChange[] = [];
    const run = await reconciler.reconcileAll('test', { ...options, onPacing: (c) => changes.push(c) });
    const [web] = await registry.serviceEndpoints(['web']);
    return { run, changes, endpoints: web?.endpoints.length ?? 0, listingsAlone: gathering?.timedOut ?? 0 };
  };
  return { arm, budget, sweep };
}

/** Scale set name of each ARM request of a reconcile (listAll and unnamed requests left out), in arrival order. */
function scaleSetSequence(paths: readonly string[]): string[] {
  return paths.flatMap((p) => /\/virtualMachineScaleSets\/([^/]+)/i.exec(p)?.[1] ?? []).map((n) => n.toLowerCase());
}

test('with plenty of reads left the sweep runs its 4 scale sets at a time; ARM reporting a low budget halves that, a critical one makes it one at a time, and both converge', async (t) => {
  const fast = await world(t, {});
  const full = await fast.sweep({ concurrency: 4 }, { together: 4 });
  assert.deepEqual(full.run.failures, []);
  assert.equal(full.endpoints, SETS * PER_SET);
  assert.equal(full.run.armBudget.slowedDown, false);
  assert.equal(fast.arm.concurrency.max('vmssVm.list'), 4, 'four VM listings at once at full speed');
  assert.equal(full.listingsAlone, 0, 'both groups of four listings gathered');
  assert.equal(full.run.totals.pacedConcurrency, 4);
  // The emulator's reads bucket (250, refilling 25 a second) counted down by this sweep's reads.
  const reads = fast.arm.requests.count({ method: 'GET' });
  const lowest = full.run.totals.armReadsRemaining;
  assert.ok(lowest !== null && lowest >= 250 - reads && lowest < 250, `lowest ${lowest}, reads ${reads}`);
  assert.match(full.run.armBudget.note, /^lowest ARM reads remaining \d+ \(x-ms-ratelimit-remaining-subscription-reads, subscription 0+-0+-4000-8000-0+1\); full speed \(4 at a time\)$/);

  // Same emulator limits; the thresholds say every value ARM reports is low.
  const low = await world(t, {});
  const halved = await low.sweep({ concurrency: 4, armBudget: { low: 100_000, critical: 0, lowSpreadMs: 5 } }, { together: 2 });
  assert.deepEqual(halved.run.failures, []);
  assert.equal(halved.endpoints, SETS * PER_SET, 'converged');
  assert.equal(low.arm.concurrency.max('vmssVm.list'), 2, 'two VM listings at once');
  assert.equal(halved.listingsAlone, 0, 'four pairs of listings gathered');
  assert.deepEqual(halved.changes.map((c) => [c.level, c.concurrency, c.spreadMs, c.afterUnits]), [['low', 2, 5, 0]]);
  assert.equal(halved.run.totals.pacedConcurrency, 2);
  assert.match(halved.run.armBudget.note, /budget low: slowed to 2 scale set\(s\) at a time \(configured 4\) with 5 ms between each worker's scale sets$/);

  const critical = await world(t, {});
  // Each listing waits up to 50 ms for a second one: one at a time, none ever comes.
  const single = await critical.sweep({ concurrency: 4, armBudget: { low: 100_000, critical: 100_000, criticalSpreadMs: 5 } }, { together: 2, deadlineMs: 50 });
  assert.deepEqual(single.run.failures, []);
  assert.equal(single.endpoints, SETS * PER_SET, 'converged');
  assert.equal(critical.arm.concurrency.max('vmssVm.list'), 1);
  assert.equal(single.listingsAlone, SETS, 'every listing went on alone');
  // One scale set at a time: the requests of each scale set come as one block in the request log.
  const sequence = scaleSetSequence(critical.arm.requests.entries.map((r) => r.path));
  const blocks = sequence.filter((name, i) => i === 0 || sequence[i - 1] !== name);
  assert.equal(blocks.length, SETS, `interleaved: ${blocks.join(' ')}`);
  assert.equal(new Set(blocks).size, SETS);
});

test('a budget that runs out during the sweep slows it step by step (normal → low → critical), and it still converges', async (t) => {
  // Reads bucket of 60 that hardly refills: each read counts it down by one.
  const w = await world(t, { rateLimits: { reads: { capacity: 60, refillPerSecond: 0.001 } } });
  const { run, changes, endpoints } = await w.sweep({ concurrency: 4, armBudget: { low: 50, critical: 40, lowSpreadMs: 1, criticalSpreadMs: 1 } });
  const reads = w.arm.requests.count({ method: 'GET' });
  assert.ok(reads > 21 && reads < 60, `the sweep read ${reads} times: adjust the thresholds`);
  assert.deepEqual(run.failures, []);
  assert.equal(endpoints, SETS * PER_SET, 'converged');
  // Normal, then low, then critical, where it ends. Two answers of one scale set read in the other
  // order than ARM counted them can step back once near a threshold (critical → low → critical), so
  // the order in which each level is first reached is asserted, and each change against its reading.
  const levels = changes.map((c) => c.level);
  assert.deepEqual([...new Set(levels)], ['normal', 'low', 'critical'], `levels: ${levels.join(' ')}`);
  assert.equal(levels.at(-1), 'critical');
  const expected = { normal: [4, 50, Infinity], low: [2, 40, 50], critical: [1, -Infinity, 40] } as const;
  for (const c of changes) {
    const [concurrency, from, below] = expected[c.level];
    assert.equal(c.concurrency, concurrency);
    assert.ok(c.remaining !== undefined && c.remaining >= from && c.remaining < below, `${c.level} at ${c.remaining}`);
  }
  assert.equal(run.totals.armReadsRemaining, 60 - reads);
  assert.equal(run.totals.pacedConcurrency, 1);
  assert.equal(run.armBudget.slowedDown, true);
  assert.match(run.armBudget.note, /budget critical: slowed to 1 scale set\(s\) at a time \(configured 4\) with 1 ms between each worker's scale sets$/);
  assert.equal(run.totals.armBudgetNote, run.armBudget.note, 'the timer’s log line spreads the totals');
  // The process-wide record the clients fed (what `status` shows): the same lowest value.
  const [recorded] = w.budget.snapshot();
  assert.equal(recorded?.lowestRemaining, 60 - reads);
  assert.equal(recorded?.subscriptionId, SUBSCRIPTION);
});

test('pacing thresholds that cannot work are refused before any ARM call', async (t) => {
  const w = await world(t, {});
  await assert.rejects(w.sweep({ armBudget: { low: 10, critical: 20 } }), { name: 'TypeError', message: 'armBudget.critical (20) must not be above armBudget.low (10)' });
  await assert.rejects(w.sweep({ armBudget: { low: -1 } }), { name: 'TypeError', message: 'armBudget.low must be an integer from 0 to 1000000 (remaining reads), got -1' });
  await assert.rejects(w.sweep({ armBudget: { lowSpreadMs: Number.NaN } }), { name: 'TypeError', message: 'armBudget.lowSpreadMs must be a number of ms from 0 to 60000, got NaN' });
  assert.equal(w.arm.requests.count(), 0);
  // `false` turns pacing off: the sweep runs at full speed whatever ARM reports.
  const off = await w.sweep({ concurrency: 4, armBudget: false }, { together: 4 });
  assert.equal(w.arm.concurrency.max('vmssVm.list'), 4);
  assert.equal(off.listingsAlone, 0);
  assert.equal(off.run.armBudget.slowedDown, false);
});
