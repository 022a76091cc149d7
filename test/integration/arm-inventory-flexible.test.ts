/**
 * Flexible scale sets: their VMs are plain Microsoft.Compute/virtualMachines, found with the
 * `virtualMachineScaleSet/id` filter, and their NICs are ordinary Microsoft.Network resources.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { confirmInstancesGone, listInstances, NicGroupReads } from '../../src/shared/azure';
import type { Instance, InstanceListing } from '../../src/shared/model';
import { meshScaleSetOf, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

function complete(listing: InstanceListing): readonly Instance[] {
  assert.equal(listing.status, 'complete', listing.status === 'unknown' ? listing.reason : '');
  return listing.status === 'complete' ? listing.instances : [];
}

describe('listInstances (Flexible)', () => {
  test('lists only this scale set’s VMs, all pages, with their NICs from one listing of the resource group', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 5, zones: ['1', '2'] }));
    // A neighbour in the same resource group: its VMs and NICs must not leak in.
    arm.world.createScaleSet(scaleSetInput({ name: 'other', orchestrationMode: 'Flexible', capacity: 3 }));
    const emulated = arm.world.listInstances(flex.id);

    const instances = complete(await listInstances(clients, meshScaleSetOf(flex)));

    assert.deepEqual(
      [...instances].sort((a, b) => a.name.localeCompare(b.name)).map((i) => ({ ...i })),
      emulated
        .map((e) => ({
          name: e.name,
          instanceId: e.name,
          resourceId: e.id.toLowerCase(),
          privateIps: e.nics.flatMap((n) => n.ipConfigurations.map((c) => c.privateIp)),
          ...(e.zone === undefined ? {} : { zone: e.zone }),
          faultDomain: e.faultDomain,
          provisioningState: 'Succeeded',
          powerState: 'running',
          healthState: 'Healthy',
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
    // 5 VMs at 2 per page = 3 pages; 8 NICs in the resource group = 4 pages; no NIC GETs.
    assert.deepEqual(arm.requests.countsByRoute(), { 'vm.list': 3, 'nic.list': 4 });
    assert.ok(arm.requests.filter({ route: 'vm.list' }).every((r) => r.query['$expand'] === 'instanceView' && /virtualMachineScaleSet\/id/.test(r.query['$filter'] ?? '')));
  });

  test('below the threshold, NICs are read one by one instead of listing the resource group', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 2 }));
    arm.world.createScaleSet(scaleSetInput({ name: 'big', orchestrationMode: 'Flexible', capacity: 6 }));

    const { result, calls } = await clients.measureCalls(() => listInstances(clients, meshScaleSetOf(flex), { nicGetThreshold: 3 }));

    assert.equal(complete(result).every((i) => i.privateIps.length === 1), true);
    assert.deepEqual(arm.requests.countsByRoute(), { 'vm.list': 1, 'nic.get': 2 });
    assert.equal(calls, 3);
  });

  test('once a resource group’s listing is known to take P pages, a set referencing fewer than P NICs reads them one by one, a set referencing more lists the group', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const big = meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name: 'big', orchestrationMode: 'Flexible', capacity: 6 })));
    const small = meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name: 'small', orchestrationMode: 'Flexible', capacity: 3 })));
    const nicReads = new NicGroupReads();
    const listed = async (set: typeof big) => {
      arm.requests.clear();
      const { result } = await clients.measureCalls(() => listInstances(clients, set, { nicReads }));
      assert.equal(complete(result).length, set.capacity);
      return arm.requests.countsByRoute();
    };
    // Nothing known yet: 6 NICs ≥ the threshold (3) → the group's 9 NICs in 5 pages.
    assert.deepEqual(await listed(big), { 'vm.list': 3, 'nic.list': 5 });
    // 3 NICs < 5 pages → 3 GETs.
    assert.deepEqual(await listed(small), { 'vm.list': 2, 'nic.get': 3 });
    // 6 NICs > 5 pages → listed again: the listing made before this one started is not reused.
    assert.deepEqual(await listed(big), { 'vm.list': 3, 'nic.list': 5 });
  });

  test('concurrent listings of one resource group share one NIC listing', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const sets = ['a', 'b', 'c'].map((name) => meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name, orchestrationMode: 'Flexible', capacity: 4 }))));
    const nicReads = new NicGroupReads();
    const results = await Promise.all(sets.map((set) => listInstances(clients, set, { nicReads })));
    for (const [i, r] of results.entries()) assert.deepEqual(complete(r), complete(await listInstances(clients, sets[i]!, { nicStrategy: 'get' })));
    const firstPages = () => arm.requests.filter({ route: 'nic.list' }).filter((r) => r.query['$skiptoken'] === undefined).length;
    assert.equal(firstPages(), 1);
    assert.equal(arm.requests.count({ route: 'nic.list' }), 6); // 12 NICs, pages of 2

  });

  test('a VM whose NIC vanished between the calls is listed without IPs, the listing stays complete', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 2 }));
    const [first] = arm.world.listInstances(flex.id);
    assert.ok(first);
    arm.faults.fail(1, { route: 'nic.get', pathIncludes: first.nics[0]?.name ?? '?', status: 404, code: 'ResourceNotFound', message: 'gone' });

    const instances = complete(await listInstances(clients, meshScaleSetOf(flex), { nicGetThreshold: 10 }));

    assert.deepEqual(
      instances.map((i) => [i.name, i.privateIps.length]).sort(),
      arm.world
        .listInstances(flex.id)
        .map((e) => [e.name, e.name === first.name ? 0 : 1])
        .sort(),
    );
  });

  test('a failing VM listing is unknown', async (t) => {
    const { arm, clients } = await startArmFixture(t, { retry: { maxRetries: 0 } });
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 2 }));
    arm.faults.fail(1, { route: 'vm.list', status: 500, code: 'InternalServerError', message: 'boom' });
    const listing = await listInstances(clients, meshScaleSetOf(flex));
    assert.deepEqual(listing.status === 'unknown' ? listing.reason : listing, 'listing scale set flex: ARM listing VMs of Flexible scale set flex failed (500 InternalServerError)');
  });
});

describe('confirmInstancesGone', () => {
  test('a Flexible VM that ARM answers for but that is not in this scale set is gone from it, not present', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 1 }));
    const other = arm.world.createScaleSet(scaleSetInput({ name: 'other', orchestrationMode: 'Flexible', capacity: 1 }));
    const [mine] = arm.world.listInstances(flex.id);
    const [theirs] = arm.world.listInstances(other.id);
    assert.ok(mine && theirs);

    const { gone, present } = await confirmInstancesGone(clients, meshScaleSetOf(flex), [mine.id, theirs.id]);

    assert.deepEqual([...present], [mine.id.toLowerCase()]);
    assert.deepEqual([...gone], [theirs.id.toLowerCase()], 'a VM of another scale set does not keep our node alive');
  });

  test('confirms only the VMs ARM answers 404 for (Flexible)', async (t) => {
    const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { drainMs: 60_000 } } });
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 3 }));
    const [a, b, c] = arm.world.listInstances(flex.id);
    assert.ok(a && b && c);
    arm.world.deleteVm(flex.id, a.instanceId);
    arm.world.flush(); // a has drained and is gone
    arm.world.deleteVm(flex.id, b.instanceId); // b is Deleting: still there

    const { gone, present } = await confirmInstancesGone(clients, meshScaleSetOf(flex), [a.id, b.id, c.id.toUpperCase()]);

    assert.deepEqual([...gone], [a.id.toLowerCase()]);
    assert.deepEqual([...present].sort(), [b.id.toLowerCase(), c.id.toLowerCase()].sort(), 'ARM still answers for the Deleting VM and the running one');
  });

  test('confirms Uniform VMs by instance id and ignores IDs of other scale sets', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const web = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 3 }));
    const other = arm.world.createScaleSet(scaleSetInput({ name: 'other', capacity: 1 }));
    const [zero] = arm.world.listInstances(web.id);
    const [foreign] = arm.world.listInstances(other.id);
    assert.ok(zero && foreign);
    arm.world.deleteInstances(web.id, ['0']);
    const neverExisted = `${web.id}/virtualMachines/42`;

    const { gone, present } = await confirmInstancesGone(clients, meshScaleSetOf(web), [zero.id, neverExisted, foreign.id, 'not-an-id']);

    assert.deepEqual([...gone].sort(), [zero.id.toLowerCase(), neverExisted.toLowerCase()].sort());
    assert.equal(present.size, 0, 'IDs that are not VMs of this scale set are neither gone nor present');
    assert.equal(arm.requests.count({ route: 'vmssVm.get' }), 2);
  });

  test('an ARM failure leaves the instance unconfirmed', async (t) => {
    const { arm, clients } = await startArmFixture(t, { retry: { maxRetries: 0 } });
    const web = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    const [zero] = arm.world.listInstances(web.id);
    assert.ok(zero);
    arm.world.deleteInstances(web.id, ['0']);
    arm.faults.fail(1, { route: 'vmssVm.get', status: 500 });
    const { gone, present } = await confirmInstancesGone(clients, meshScaleSetOf(web), [zero.id]);
    assert.equal(gone.size, 0);
    assert.equal(present.size, 0, 'an ARM failure says nothing either way');
  });
});
