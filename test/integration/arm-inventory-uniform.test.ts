/**
 * Uniform scale sets listed with the real @azure/arm-compute and @azure/arm-network clients against
 * the ARM emulator over HTTPS: every page, IPs matched to VMs case-insensitively, states mapped,
 * and failures answered as `unknown`, never as an empty complete listing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listInstances } from '../../src/shared/azure';
import type { Instance, InstanceListing } from '../../src/shared/model';
import { meshScaleSetOf, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

function complete(listing: InstanceListing): readonly Instance[] {
  assert.equal(listing.status, 'complete', listing.status === 'unknown' ? listing.reason : '');
  return listing.status === 'complete' ? listing.instances : [];
}

describe('listInstances (Uniform)', () => {
  test('reads every page of VMs and NICs and maps each instance', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 7, zones: ['1', '2', '3'] }));
    const emulated = arm.world.listInstances(ss.id);

    const instances = complete(await listInstances(clients, meshScaleSetOf(ss)));

    assert.equal(instances.length, 7);
    assert.deepEqual(
      instances.map((i) => ({ name: i.name, instanceId: i.instanceId, resourceId: i.resourceId, privateIps: i.privateIps, zone: i.zone, faultDomain: i.faultDomain })),
      emulated.map((e) => ({
        name: e.name,
        instanceId: e.instanceId,
        resourceId: e.id.toLowerCase(),
        privateIps: e.nics.flatMap((n) => n.ipConfigurations.map((c) => c.privateIp)),
        zone: e.zone,
        faultDomain: e.faultDomain,
      })),
    );
    for (const instance of instances) {
      assert.equal(instance.provisioningState, 'Succeeded');
      assert.equal(instance.powerState, 'running');
      assert.equal(instance.healthState, 'Healthy');
    }
    // 7 items at 2 per page = 4 pages of VMs and 4 of NICs, nothing per instance.
    assert.equal(arm.requests.count({ route: 'vmssVm.list' }), 4);
    assert.equal(arm.requests.count({ route: 'vmssNic.list' }), 4);
    assert.equal(arm.requests.entries.length, 8);
  });

  test('matches NICs to VMs although ARM upper-cases the resource group in NIC references', async (t) => {
    const { arm, clients } = await startArmFixture(t, { upperCaseResourceGroupInReferences: true });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', resourceGroup: 'Mixed-Case-RG', capacity: 3 }));
    const instances = complete(await listInstances(clients, meshScaleSetOf(ss)));
    assert.deepEqual(
      instances.map((i) => i.privateIps.length),
      [1, 1, 1],
    );
    assert.ok(instances.every((i) => i.resourceId === i.resourceId.toLowerCase()));
  });

  test('puts the primary NIC and its primary IP first, whatever order ARM lists them in', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'multi', capacity: 2, nicsPerInstance: 2, ipConfigurationsPerNic: 2 }));
    const instances = complete(await listInstances(clients, meshScaleSetOf(ss)));
    for (const [i, instance] of instances.entries()) {
      const emulated = arm.world.listInstances(ss.id)[i];
      assert.ok(emulated);
      const primaryNic = emulated.nics.find((n) => n.primary);
      const secondaryNic = emulated.nics.find((n) => !n.primary);
      assert.ok(primaryNic && secondaryNic);
      const ordered = [primaryNic, secondaryNic].flatMap((nic) => [...nic.ipConfigurations].sort((a, b) => Number(b.primary) - Number(a.primary)).map((c) => c.privateIp));
      assert.deepEqual(instance.privateIps, ordered);
    }
  });

  test('maps health, power and provisioning states from the instance view', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'states', capacity: 5 }));
    arm.world.setHealth(ss.id, '0', 'Unhealthy');
    arm.world.setHealth(ss.id, '1', 'Unknown');
    arm.world.setHealth(ss.id, '2', null);
    arm.world.setPowerState(ss.id, '3', 'deallocated');
    arm.world.setProvisioningState(ss.id, '4', 'Failed');

    const byId = new Map(complete(await listInstances(clients, meshScaleSetOf(ss))).map((i) => [i.instanceId, i]));

    assert.equal(byId.get('0')?.healthState, 'Unhealthy');
    assert.equal(byId.get('1')?.healthState, 'Unknown');
    assert.equal(byId.has('2'), true);
    assert.equal('healthState' in (byId.get('2') ?? {}), false);
    assert.equal(byId.get('3')?.powerState, 'deallocated');
    assert.equal(byId.get('4')?.provisioningState, 'Failed');
  });

  test('a scale set without the health extension reports no health state', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'nohealth', capacity: 2, healthExtension: false }));
    const instances = complete(await listInstances(clients, meshScaleSetOf(ss)));
    assert.deepEqual(instances.map((i) => i.healthState), [undefined, undefined]);
  });

  test('an empty scale set (capacity 0) is a complete, empty listing', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'empty', capacity: 0 }));
    const listing = await listInstances(clients, meshScaleSetOf(ss));
    assert.equal(listing.status, 'complete');
    assert.deepEqual(listing.status === 'complete' ? listing.instances : undefined, []);
  });

  test('a failing NIC page makes the listing unknown, never partial', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2, retry: { maxRetries: 0 } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 5 }));
    // The first NIC page succeeds, the second fails.
    arm.faults.fail(1, { route: 'vmssNic.list', skip: 1, status: 503, code: 'ServiceUnavailable', message: 'try later' });
    const mesh = meshScaleSetOf(ss);

    const listing = await listInstances(clients, mesh);

    assert.equal(listing.status, 'unknown');
    assert.equal(
      listing.status === 'unknown' ? listing.reason : '',
      'listing scale set web: ARM listing NICs of scale set web failed (503 ServiceUnavailable)',
    );
    assert.equal(arm.requests.count({ route: 'vmssNic.list', status: 503 }), 1);
  });

  test('no VM listed while the scale set reports capacity is unknown, not empty', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 0 }));
    const stale = { ...meshScaleSetOf(ss), capacity: 3 };
    const listing = await listInstances(clients, stale);
    assert.deepEqual(listing.status === 'unknown' ? listing.reason : listing, 'ARM listed no VM for scale set web although its capacity is 3');
  });

  test('a scale set deleted since it was looked up lists as unknown', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    const mesh = meshScaleSetOf(ss);
    arm.world.deleteScaleSet(ss.id);
    const listing = await listInstances(clients, mesh);
    assert.equal(listing.status, 'unknown');
    // Both listings fail; whichever answers first names the failure.
    assert.match(listing.status === 'unknown' ? listing.reason : '', /^listing scale set web: ARM listing (VMs|NICs) of scale set web failed \(404 ResourceNotFound\)$/);
  });
});
