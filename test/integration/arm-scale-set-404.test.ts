/**
 * D1 (issue 9): one 404 for a scale set's GET is not proof that it is gone. End to end: the real
 * SDK clients against the ARM emulator (faults injected there), the real inventory, reconciler and
 * Consul registry against the Consul double. The clock of listings and tombstones is the test's.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { TransientError } from '../../src/shared/errors';
import { createAzureInventory } from '../../src/shared/azure/azure-inventory';
import { noRelayPublisher } from '../../src/shared/endpoints';
import type { ReconcileHint } from '../../src/shared/model';
import { tombstoneKey } from '../../src/shared/ownership';
import { TOMBSTONE_FRESH_LISTING_MARGIN_MS } from '../../src/shared/consul/tombstone';
import type { ReconcileDeps } from '../../src/shared/reconcile/reconcile-scale-set';
import { Reconciler } from '../../src/shared/reconcile/reconciler';
import { scaleSetId, scaleSetRef } from '../../src/shared/resource-id';
import { SUBSCRIPTION, WEB_TAGS, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';
import { registryFor, startDouble } from '../helpers/consul-fixtures';

const RG = 'rg-mesh';
const PREFIX = 'd1';
const CONFIRM_DELAY_MS = 150;
const ID = scaleSetId(SUBSCRIPTION, RG, 'web').toLowerCase();
const NOT_FOUND = { status: 404, code: 'ResourceNotFound', message: "The Resource 'Microsoft.Compute/virtualMachineScaleSets/web' under resource group 'rg-mesh' was not found.", route: 'vmss.get' } as const;

let events = 0;
const hint = (): ReconcileHint => ({
  target: { kind: 'scale-set', ref: scaleSetRef(SUBSCRIPTION, RG, 'web') },
  reason: 'test',
  eventTime: new Date(Date.now() + 3_600_000).toISOString(), // never covered by an earlier run
  eventId: `d1-${++events}`,
});

async function world(t: TestContext, capacity = 7) {
  const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { createDelayMs: 0, drainMs: 0 } } });
  arm.world.createResourceGroup(SUBSCRIPTION, RG);
  arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity, tags: WEB_TAGS }));
  const consul = await startDouble(t);
  const clock = { now: Date.parse('2026-03-01T00:00:00Z') };
  const registry = registryFor(t, consul.url, { kvPrefix: PREFIX, tombstoneTtlMs: 600_000, now: () => clock.now });
  const inventory = createAzureInventory(clients, { subscriptions: [SUBSCRIPTION], resourceGroups: [] });
  const deps: ReconcileDeps = { inventory, registry, publisher: noRelayPublisher, maxRemovalShare: 0.5, now: () => clock.now, confirmGoneDelayMs: CONFIRM_DELAY_MS };
  const reconciler = new Reconciler(deps);
  const registered = () => consul.state.snapshot().services.filter((s) => s.service === 'web').length;
  const tombstones = () => consul.state.snapshot().kv.filter((e) => e.key.startsWith(tombstoneKey(PREFIX, ID, ''))).length;
  /** Every reconcile lists later than the one before (equal listings supersede each other). */
  const tick = (ms = 1_000) => void (clock.now += ms);
  const reconcile = async () => {
    tick();
    const result = await reconciler.reconcileHint(hint());
    assert.equal(result.kind, 'reconciled');
    return result.kind === 'reconciled' ? result.result : assert.fail('unreachable');
  };
  const sweep = async () => {
    tick();
    const run = await reconciler.reconcileAll('test');
    assert.deepEqual(run.failures, []);
    return run;
  };
  return { arm, consul, clock, tick, reconcile, sweep, registered, tombstones };
}

test('one 404 on the scale set GET of an event-triggered reconcile deregisters nothing', async (t) => {
  const w = await world(t);
  assert.equal((await w.reconcile()).registered, 7);

  w.arm.faults.fail(1, NOT_FOUND);
  const report = await w.reconcile();

  assert.equal(report.deregistered, 0);
  assert.equal(w.registered(), 7);
  assert.equal(w.tombstones(), 0);
  assert.equal(w.arm.faults.pending, 0, 'the injected 404 was served');
  const gets = w.arm.requests.filter({ route: 'vmss.get' }).slice(-2);
  assert.deepEqual(gets.map((r) => r.status), [404, 200], 'a second GET, after the delay, answered for the scale set');
  const [first, second] = gets;
  assert.ok(first && second && second.at - first.at >= CONFIRM_DELAY_MS - 5, `the confirming GET waited ${second && first ? second.at - first.at : NaN} ms`);
});

test('in the timer sweep too, a scale set its resource group still lists is not gone, whatever its GETs answer', async (t) => {
  const w = await world(t);
  await w.sweep();
  assert.equal(w.registered(), 7);

  w.arm.faults.fail(2, NOT_FOUND); // both GETs of the reconcile answer 404
  const run = await w.sweep();

  const report = run.reports.find((r) => r.scaleSetId === ID);
  assert.equal(report?.outcome, 'unknown');
  assert.match(report?.detail ?? '', /listed .* in its resource group/);
  assert.equal(run.totals.deregistered, 0);
  assert.equal(w.registered(), 7);
  assert.equal(w.tombstones(), 0);
});

test('two 404s on the GET are not proof either while the resource group still lists the scale set', async (t) => {
  const w = await world(t);
  await w.reconcile();

  w.arm.faults.fail(2, NOT_FOUND); // both GETs of the event-triggered reconcile answer 404
  // Unknown and retryable: the trigger fails so that Event Grid delivers the event again.
  await assert.rejects(w.reconcile(), (error: Error) => error instanceof TransientError && /listed .* in its resource group/.test(error.message));

  assert.equal(w.registered(), 7);
  assert.equal(w.tombstones(), 0);
  assert.equal(w.arm.requests.filter({ route: 'vmss.list' }).length, 1, 'one listing of the resource group');
});

test('a real deletion is still removed: two 404s a delay apart and absent from its resource group (two extra ARM calls)', async (t) => {
  const w = await world(t);
  await w.reconcile();
  w.arm.world.deleteScaleSet({ subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'web' });
  w.arm.world.flush();

  const report = await w.reconcile();

  assert.equal(report.deregistered, 7);
  assert.equal(w.registered(), 0);
  assert.equal(w.tombstones(), 7);
  assert.equal(report.armCalls, 3, 'the GET, its confirmation and the resource group listing');
});

test('a tombstone does not block an instance that a listing started after it lists as running', async (t) => {
  const w = await world(t, 3);
  await w.reconcile();
  // A longer ARM blip (both GETs and the resource group listing 404) removes everything and writes tombstones…
  w.arm.faults.fail(2, NOT_FOUND);
  w.arm.faults.fail(1, { ...NOT_FOUND, route: 'vmss.list' });
  assert.equal((await w.reconcile()).deregistered, 3);
  assert.equal(w.tombstones(), 3);

  // …a listing that started within the margin still respects them…
  const blocked = await w.reconcile();
  assert.equal(blocked.registered, 0);
  assert.ok(blocked.skipped.every((s) => s.reason.startsWith('tombstoned')), JSON.stringify(blocked.skipped));
  assert.equal(w.registered(), 0);

  // …but a listing that started after the tombstone (plus the margin) registers the instances again,
  // long before the 600 s TTL, and takes the tombstones away in the same transactions.
  w.tick(TOMBSTONE_FRESH_LISTING_MARGIN_MS);
  const healed = await w.reconcile();
  assert.equal(healed.registered, 3);
  assert.equal(w.registered(), 3);
  assert.equal(w.tombstones(), 0);
});

test('an instance one listing page left out is not removed while ARM still answers its GET (found by the chaos soak)', async (t) => {
  const w = await world(t, 4);
  assert.equal((await w.reconcile()).registered, 4);

  w.arm.faults.wrongPage(1, { kind: 'drop-last-item', route: 'vmssVm.list' });
  const report = await w.reconcile();

  assert.equal(w.arm.faults.pending, 0, 'the page fault was served');
  assert.equal(report.instances, 3, 'the listing lacked one instance');
  assert.equal(report.deregistered, 0);
  assert.equal(w.registered(), 4);
  assert.equal(w.tombstones(), 0);
  assert.ok(report.skipped.some((s) => s.reason.startsWith('still-in-arm')), JSON.stringify(report.skipped));
  assert.equal(w.arm.requests.filter({ route: 'vmssVm.get' }).length, 1, 'one GET asked ARM about the missing instance');

  // A real removal that was never seen draining is still removed, confirmed by its 404.
  w.arm.world.deleteInstances(scaleSetId(SUBSCRIPTION, RG, 'web'), ['3']);
  w.arm.world.flush();
  assert.equal((await w.reconcile()).deregistered, 1);
  assert.equal(w.registered(), 3);
});

test('a listing fresher than a tombstone brings its instance back only when the instance GET agrees (a lagging listing is not proof)', async (t) => {
  const w = await world(t, 2);
  await w.reconcile();
  w.arm.faults.fail(2, NOT_FOUND);
  w.arm.faults.fail(1, { ...NOT_FOUND, route: 'vmss.list' });
  assert.equal((await w.reconcile()).deregistered, 2);
  w.tick(TOMBSTONE_FRESH_LISTING_MARGIN_MS);

  // The listing shows both running, but ARM does not answer their GETs (here: 403): nothing agrees
  // with the listing, so the tombstones still block. (A 404 would too: the planner takes it as gone.)
  w.arm.faults.fail(2, { status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization.', route: 'vmssVm.get' });
  const doubtful = await w.reconcile();
  assert.equal(doubtful.registered, 0);
  assert.equal(w.registered(), 0);
  assert.equal(w.tombstones(), 2);
  assert.equal(w.arm.faults.pending, 0, 'both instance GETs were asked');

  // Once the GETs agree with the listing, they are back.
  assert.equal((await w.reconcile()).registered, 2);
  assert.equal(w.tombstones(), 0);
});
