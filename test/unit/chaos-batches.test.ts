/**
 * The overlapped chaos soak's batches: ARM faults come after the changes of the scale sets they meet (they hold
 * a set for seconds after their batch), each in a lane of its route (and scale set for a GET), and
 * the ARM fault watch takes away what is left of a fault that ended without touching another's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchPlanner, batchSteps, conflict, holds, laneOf } from '../../src/sandbox/chaos/batches';
import { buildSchedule, type Step } from '../../src/sandbox/chaos/schedule';
import { armedRoutes, armFaultKey, armFaultPlan, armFaultSets, changedSet } from '../../src/sandbox/chaos/step-targets';
import { ArmFaultWatch } from '../../src/sandbox/chaos/arm-fault-watch';
import { FaultInjector } from '../../src/sandbox/arm-emulator/throttling';

const schedule = buildSchedule({ seed: 9, faults: 200, scaleSets: 2, maxCapacity: 5 });
const isArm = (s: Step) => armFaultKey(s) !== undefined;

describe('chaos batches: ARM faults after the changes, one lane per route', () => {
  const batches = batchSteps(schedule);

  test('every step once, each lane in schedule order, one step per lane in a batch, no conflicts', () => {
    assert.equal(batches.flat().length, schedule.length);
    assert.deepEqual(new Set(batches.flat()), new Set(schedule));
    const lanes = new Set(schedule.map(laneOf));
    for (const lane of lanes) assert.deepEqual(batches.flat().filter((s) => laneOf(s) === lane), schedule.filter((s) => laneOf(s) === lane), lane);
    for (const batch of batches) {
      assert.equal(new Set(batch.map(laneOf)).size, batch.length);
      for (const a of batch) for (const b of batch) if (a !== b) assert.equal(conflict(a, b), false);
    }
  });

  test('no ARM fault shares a batch with, or comes before, a change of a scale set it meets (or a health change)', () => {
    batches.forEach((batch, i) => {
      for (const arm of batch.filter(isArm)) {
        const sets = armFaultSets(arm, true)!;
        const later = batches.slice(i).flat().filter((s) => !isArm(s) && holds(sets, changedSet(s)));
        assert.deepEqual(later, [], `${armFaultKey(arm)} in batch ${i}`);
      }
    });
  });

  test("a scale set's ARM faults start once its changes are over, beside the other set's changes", () => {
    const firstOf = (set: number) => batches.findIndex((b) => b.some((s) => isArm(s) && armFaultSets(s, true) !== 'sweep' && (armFaultSets(s, true) as readonly number[]).includes(set)));
    const lastChangeOf = (set: number) => Math.max(...batches.map((b, i) => (b.some((s) => !isArm(s) && holds([set], changedSet(s))) ? i : -1)));
    for (const set of [0, 1]) assert.equal(firstOf(set), lastChangeOf(set) + 1, `set ${set}`);
    // Seed 9: the orders set's changes end first; its ARM faults run beside the catalog set's changes.
    assert.ok(firstOf(0) <= lastChangeOf(1), `orders' ARM faults from batch ${firstOf(0)}, catalog's last change in batch ${lastChangeOf(1)}`);
  });

  test('ARM faults of different routes run in one batch; two of one route (and set) never do', () => {
    const armBatches = batches.filter((b) => b.some(isArm));
    assert.ok(armBatches.some((b) => b.filter(isArm).length > 2), 'some batch runs three ARM faults or more at once');
    for (const b of armBatches) {
      const keys = b.filter(isArm).map((s) => armFaultKey(s));
      assert.equal(new Set(keys).size, keys.length);
    }
    // Far fewer batches than the ARM faults: they no longer wait for one another per scale set.
    assert.ok(armBatches.length < schedule.filter(isArm).length / 2, `${armBatches.length} batches for ${schedule.filter(isArm).length} ARM faults`);
  });

  test('a GET fault is keyed by its scale set, a listing by its route', () => {
    const fault = (faultClass: Extract<Step, { kind: 'fault' }>['faultClass'], pick: number): Step => ({ kind: 'fault', index: 0, faultClass, windowMs: 100, count: 1, pick, seed: 1 });
    assert.equal(armFaultKey(fault('arm-404', 0)), 'vmss.get/orders');
    assert.equal(armFaultKey(fault('arm-404', 0.9)), 'vmss.get/catalog');
    assert.equal(conflict(fault('arm-404', 0), fault('arm-404', 0.9)), false);
    assert.equal(conflict(fault('arm-404', 0), fault('arm-404', 0.1)), true);
    const listing = schedule.find((s): s is Extract<Step, { kind: 'fault' }> => s.kind === 'fault' && s.faultClass !== 'arm-404' && isArm(s) && armFaultPlan(s).route !== 'vmss.get')!;
    assert.equal(armFaultKey(listing), armFaultPlan(listing).route);
  });

  test('an ARM fault waits while a change of a scale set it meets is left, even when that change is blocked now; one of another set does not', () => {
    const scale: Step = { kind: 'action', action: { kind: 'scale', set: 0, capacity: 2 } };
    const fault = (pick: number): Step => ({ kind: 'fault', index: 0, faultClass: 'arm-404', windowMs: 100, count: 1, pick, seed: 1 });
    const onOrders = fault(0);
    const onCatalog = fault(0.9);
    const planner = new BatchPlanner([scale, onOrders, onCatalog]);
    assert.deepEqual(planner.next((s) => s === scale), [onCatalog]);
    assert.deepEqual(planner.next(), [scale]);
    assert.deepEqual(planner.next(), [onOrders]);
    assert.equal(planner.done, true);
  });
});

describe('ARM fault watch', () => {
  test("a fault's leftovers go when it ends; another fault, still tracked, keeps its own", () => {
    const faults = new FaultInjector();
    const watch = new ArmFaultWatch(faults);
    const a = watch.track({ routes: ['vmssVm.list'] });
    faults.fail(3, { route: 'vmssVm.list' });
    const b = watch.track({ routes: ['vm.list'] });
    faults.fail(2, { route: 'vm.list' });
    const request = (route: string) => ({ method: 'GET', route, path: '/subscriptions/s/x' });
    assert.ok(faults.take(request('vmssVm.list')));
    assert.equal(a.used(), 1);
    a.end();
    assert.equal(faults.take(request('vmssVm.list')), undefined, 'what was left of the ended fault is gone');
    assert.equal(faults.pending, 2, 'the other fault is intact');
    assert.ok(faults.take(request('vm.list')));
    assert.equal(b.used(), 1);
    b.end();
    assert.equal(faults.pending, 0);
  });

  test('a fault armed on both ways of reading the NICs counts a request of either, and ends on both', () => {
    const faults = new FaultInjector();
    const watch = new ArmFaultWatch(faults);
    const routes = armedRoutes('nic.list');
    assert.deepEqual(routes, ['nic.list', 'nic.get']);
    const other = watch.track({ routes: ['vm.list'] });
    faults.fail(1, { route: 'vm.list' });
    const nic = watch.track({ routes });
    for (const route of routes) faults.fail(2, { route });
    assert.ok(faults.take({ method: 'GET', route: 'nic.get', path: '/subscriptions/s/networkInterfaces/catalog-nic01' }));
    assert.equal(nic.used(), 1);
    assert.equal(other.used(), 0);
    nic.end();
    assert.equal(faults.pending, 1, "both routes' leftovers gone, the other fault intact");
    other.end();
  });

  test('wrong pages are aimed at listings the app makes at every reconcile, never at the NIC listing a Flexible set may skip', () => {
    const pages = schedule.filter((s): s is Extract<Step, { kind: 'fault' }> => s.kind === 'fault' && s.faultClass === 'arm-wrong-page');
    assert.ok(pages.length > 0);
    for (const s of pages) assert.notEqual(armFaultPlan(s).route, 'nic.list');
  });
});

describe('Event Grid gate, one mode per scale set', () => {
  test('a fault on one set acts on its operations only; the other set passes', async () => {
    const { EventGate, operationSetByName } = await import('../../src/sandbox/chaos/event-gate');
    const gate = new EventGate(operationSetByName(['orders', 'catalog']));
    const op = (resourceUri: string, sequence: number) => ({ sequence, operationName: 'x', resourceUri, resourceProvider: 'Microsoft.Compute' as const, subscriptionId: 's', resourceGroup: 'g', status: 'Succeeded' as const, correlationId: 'c', eventTime: '', origin: 'world' as const });
    const orders = op('/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachineScaleSets/orders/virtualMachines/3', 1);
    const catalogVm = op('/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/catalog_1a2b3c4d', 2);
    const catalog = op('/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachineScaleSets/catalog', 3);
    gate.start(0, 'hold');
    gate.start(1, 'duplicate');
    assert.equal(gate.idle, false);
    assert.deepEqual(gate.filter([orders, catalogVm, catalog]), [catalogVm, catalog, catalogVm, catalog]);
    assert.equal(gate.affected(0), 1);
    assert.equal(gate.affected(1), 2);
    assert.deepEqual(gate.release(0), [orders]);
    gate.release(1);
    assert.equal(gate.idle, true);
    assert.deepEqual(gate.filter([orders, catalogVm]), [orders, catalogVm]);
  });
});

describe('chaos batches: a slow Consul and the passive lanes wait beside the changes', () => {
  test('before the first ARM fault, batches are no more than the longest lane with changes of the sets it meets (plus what is blocked)', () => {
    const batches = batchSteps(schedule);
    const firstArm = batches.findIndex((b) => b.some(isArm));
    const sets = armFaultSets(batches[firstArm]!.find(isArm)!, true)!;
    const changeLanes = new Map<string, number>();
    for (const s of schedule) if (!isArm(s) && holds(sets, changedSet(s))) changeLanes.set(laneOf(s), (changeLanes.get(laneOf(s)) ?? 0) + 1);
    assert.equal(firstArm, Math.max(...changeLanes.values()), `ARM faults from batch ${firstArm}; lanes with changes: ${[...changeLanes].join(', ')}`);
    for (const b of batches) if (b.some((s) => s.kind === 'fault' && s.faultClass === 'consul-slow')) assert.ok(!b.some((s) => laneOf(s) === 'consul'), 'a slow Consul never shares a batch with another Consul fault');
  });
});
