/**
 * The timer sweep starts the Flexible scale sets of one resource group together, so one listing of
 * the group's NICs serves them all, however the sweep's concurrency splits the rest (issue 12).
 * Real reconciler, real inventory against the ARM emulator, real registry against the Consul double.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createAzureInventory } from '../../src/shared/azure/azure-inventory';
import { GATHER_WAIT_MS, NicGroupReads } from '../../src/shared/azure/flexible-nics';
import type { ListInstancesOptions } from '../../src/shared/azure/instances';
import { noRelayPublisher } from '../../src/shared/endpoints';
import { MAX_FLEXIBLE_COHORT, sweepUnits } from '../../src/shared/reconcile/reconcile-run';
import { Reconciler } from '../../src/shared/reconcile/reconciler';
import { scaleSetRef } from '../../src/shared/resource-id';
import { SUBSCRIPTION, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';
import { registryFor, startDouble } from '../helpers/consul-fixtures';

const FLEXIBLE_SETS = 6;
const PER_SET = 4;
const PAGE_SIZE = 10;

async function flexibleGroup(t: TestContext) {
  const { arm, clients } = await startArmFixture(t, { pageSize: PAGE_SIZE, world: { lifecycle: { createDelayMs: 0, drainMs: 0 } } });
  for (let i = 0; i < FLEXIBLE_SETS; i += 1) arm.world.createScaleSet(scaleSetInput({ name: `flex-${i}`, orchestrationMode: 'Flexible', capacity: PER_SET }));
  arm.world.createScaleSet(scaleSetInput({ name: 'uni', orchestrationMode: 'Uniform', capacity: PER_SET }));
  return { arm, clients };
}

async function sweepOnce(t: TestContext, fixture: Awaited<ReturnType<typeof flexibleGroup>>, listOptions: ListInstancesOptions, concurrency: number) {
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const inventory = createAzureInventory(fixture.clients, { subscriptions: [SUBSCRIPTION], resourceGroups: [] }, listOptions);
  const reconciler = new Reconciler({ inventory, registry, publisher: noRelayPublisher, maxRemovalShare: 1 });
  fixture.arm.requests.clear();
  const sweep = await reconciler.reconcileAll('test', { concurrency });
  const routes = fixture.arm.requests.countsByRoute();
  const [web] = await registry.serviceEndpoints(['web']);
  return { sweep, routes, endpoints: [...(web?.endpoints ?? [])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
}

test('a sweep over the Flexible sets of one group makes exactly one group NIC listing, even one set at a time, and registers what per-VM NIC reads give', async (t) => {
  const fixture = await flexibleGroup(t);
  // 24 Flexible NICs + the Uniform set's 4 in the group: 3 pages of 10. Each Flexible set references
  // 4 NICs > 3 pages, so without the cohort every set of a later wave would list the group again.
  const groupPages = Math.ceil(((FLEXIBLE_SETS + 1) * PER_SET) / PAGE_SIZE);

  const shared = await sweepOnce(t, fixture, {}, 1);
  assert.deepEqual(shared.sweep.failures, []);
  assert.equal(shared.sweep.reports.length, FLEXIBLE_SETS + 1);
  assert.ok(shared.sweep.reports.every((r) => r.outcome === 'applied' && r.instances === PER_SET && r.registered === PER_SET), JSON.stringify(shared.sweep.reports.map((r) => [r.scaleSetId, r.outcome, r.instances])));
  assert.equal(shared.routes['nic.list'], groupPages, JSON.stringify(shared.routes));
  assert.equal(shared.routes['nic.get'] ?? 0, 0, JSON.stringify(shared.routes));

  // The same world swept with every NIC read by its own GET: the same endpoints.
  const perVm = await sweepOnce(t, fixture, { nicStrategy: 'get' }, 1);
  assert.deepEqual(perVm.sweep.failures, []);
  assert.equal(perVm.routes['nic.list'] ?? 0, 0);
  assert.equal(perVm.routes['nic.get'], FLEXIBLE_SETS * PER_SET);
  assert.equal(shared.endpoints.length, (FLEXIBLE_SETS + 1) * PER_SET);
  assert.deepEqual(shared.endpoints, perVm.endpoints);
});

test('sweep units: the Flexible sets of a group form one unit (at most MAX_FLEXIBLE_COHORT), everything else one unit each, in first-seen order', () => {
  const ref = (rg: string, name: string) => scaleSetRef(SUBSCRIPTION, rg, name);
  const a = Array.from({ length: MAX_FLEXIBLE_COHORT + 2 }, (_, i) => ref('rg-a', `f${i}`));
  const b = ref('rg-b', 'f');
  const u = ref('rg-a', 'u');
  const refs = [a[0]!, u, b, ...a.slice(1)];
  const units = sweepUnits(refs, new Set([...a, b].map((r) => r.id)));
  assert.deepEqual(
    units.map((unit) => unit.map((r) => r.name)),
    [a.slice(0, MAX_FLEXIBLE_COHORT).map((r) => r.name), ['u'], ['f'], a.slice(MAX_FLEXIBLE_COHORT).map((r) => r.name)],
  );
});

test('a gathered group’s NIC listing waits until every member started its VM listing or left, and no longer than GATHER_WAIT_MS', async (t) => {
  const reads = new NicGroupReads();
  const group = 'sub/rg';
  const gathered = reads.gather(group, ['A', 'b']);
  let ready = false;
  const waiting = reads.gathered(group).then(() => (ready = true));
  reads.arrived(group, 'a'); // IDs in any casing
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ready, false, 'b has neither listed nor left');
  gathered.leave('B');
  await waiting;
  assert.equal(ready, true);

  // A member that never shows up holds the listing back for GATHER_WAIT_MS at most.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  reads.gather(group, ['stuck']);
  let late = false;
  const bounded = reads.gathered(group).then(() => (late = true));
  t.mock.timers.tick(GATHER_WAIT_MS - 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(late, false);
  t.mock.timers.tick(1);
  await bounded;
  assert.equal(late, true);
});
