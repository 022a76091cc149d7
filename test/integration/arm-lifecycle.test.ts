/**
 * Instance lifecycle as the inventory sees it through the real SDK: scale out (Creating →
 * Succeeded), scale in and deleteInstances through ARM (Deleting → gone), with the world's
 * deterministic waits and the operation records the Event Grid simulator will deliver.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { confirmInstancesGone, getScaleSet, listInstances } from '../../src/shared/azure';
import type { InstanceListing, MeshScaleSet } from '../../src/shared/model';
import { meshScaleSetOf, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

function summary(listing: InstanceListing): string[] {
  assert.equal(listing.status, 'complete', listing.status === 'unknown' ? listing.reason : '');
  return listing.status === 'complete' ? listing.instances.map((i) => `${i.instanceId}:${i.provisioningState}:${i.powerState}:${i.healthState ?? '-'}`) : [];
}

async function fresh(clients: Parameters<typeof getScaleSet>[0], scaleSet: MeshScaleSet): Promise<MeshScaleSet> {
  const lookup = await getScaleSet(clients, scaleSet.ref);
  assert.equal(lookup.state, 'in-mesh');
  return lookup.state === 'in-mesh' ? lookup.scaleSet : scaleSet;
}

describe('instance lifecycle through ARM', () => {
  test('Uniform: scale out via the SDK shows Creating, then Succeeded once the world is flushed', async (t) => {
    const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { createDelayMs: 60_000, drainMs: 60_000 } } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    arm.world.flush();

    const updated = await clients.compute.virtualMachineScaleSets.update('rg-mesh', 'web', { sku: { capacity: 3 } });
    assert.equal(updated.sku?.capacity, 3);
    const mesh = await fresh(clients, meshScaleSetOf(ss));
    assert.deepEqual(summary(await listInstances(clients, mesh)), ['0:Succeeded:running:Healthy', '1:Creating:starting:Initializing', '2:Creating:starting:Initializing']);

    arm.world.flush();
    assert.deepEqual(summary(await listInstances(clients, mesh)), ['0:Succeeded:running:Healthy', '1:Succeeded:running:Healthy', '2:Succeeded:running:Healthy']);

    const write = arm.world.operations.filter((op) => op.origin === 'rest');
    assert.deepEqual(write.map((op) => [op.operationName, op.httpMethod]), [['Microsoft.Compute/virtualMachineScaleSets/write', 'PATCH']]);
  });

  test('Uniform: deleteInstances via the SDK drains (Deleting), then the instances are gone and confirmed', async (t) => {
    const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { drainMs: 60_000 } } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 3 }));
    const mesh = meshScaleSetOf(ss);
    const ids = arm.world.listInstances(ss.id).map((i) => i.id);

    await clients.compute.virtualMachineScaleSets.deleteInstances('rg-mesh', 'web', { instanceIds: ['1'] });
    assert.deepEqual(summary(await listInstances(clients, mesh)), ['0:Succeeded:running:Healthy', '1:Deleting:running:Healthy', '2:Succeeded:running:Healthy']);
    const deleting = await confirmInstancesGone(clients, mesh, ids);
    assert.equal(deleting.gone.size, 0);
    assert.equal(deleting.present.size, 3);

    arm.world.flush();
    assert.deepEqual(summary(await listInstances(clients, mesh)), ['0:Succeeded:running:Healthy', '2:Succeeded:running:Healthy']);
    assert.deepEqual([...(await confirmInstancesGone(clients, mesh, ids)).gone], [ids[1]?.toLowerCase()]);
    const last = arm.world.operations[arm.world.operations.length - 1];
    assert.deepEqual([last?.operationName, last?.httpMethod, last?.origin], ['Microsoft.Compute/virtualMachineScaleSets/delete/action', 'POST', 'rest']);
  });

  test('Flexible: scale in with real (short) timers; settled() is the only wait', async (t) => {
    const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { createDelayMs: 15, drainMs: 15 } } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 3 }));
    await arm.world.settled();
    const names = arm.world.listInstances(ss.id).map((i) => i.name);

    arm.world.scale(ss.id, 1);
    // Synchronously after the scale-in no timer can have fired: two VMs are draining.
    assert.deepEqual(arm.world.listInstances(ss.id).map((i) => i.provisioningState), ['Succeeded', 'Deleting', 'Deleting']);
    const mesh = await fresh(clients, meshScaleSetOf(ss));

    await arm.world.settled();
    const after = await listInstances(clients, mesh);
    assert.deepEqual(after.status === 'complete' ? after.instances.map((i) => [i.name, i.provisioningState]) : after, [[names[0], 'Succeeded']]);
  });

  test('a whole scale set deleted through ARM: not-found once drained', async (t) => {
    const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { drainMs: 60_000 } } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    const mesh = meshScaleSetOf(ss);

    await clients.compute.virtualMachineScaleSets.delete('rg-mesh', 'web');
    assert.equal((await getScaleSet(clients, mesh.ref)).state, 'in-mesh');
    assert.deepEqual(summary(await listInstances(clients, mesh)), ['0:Deleting:running:Healthy', '1:Deleting:running:Healthy']);

    arm.world.flush();
    assert.deepEqual(await getScaleSet(clients, mesh.ref), { state: 'not-found', ref: mesh.ref });
    assert.deepEqual(
      arm.world.operations.filter((op) => op.origin === 'rest').map((op) => op.operationName),
      ['Microsoft.Compute/virtualMachineScaleSets/delete'],
    );
  });
});
