/**
 * createAzureInventory is what wiring hands the reconciler: it must satisfy InventoryPort (checked
 * by the compiler here) and behave as the port promises.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../src/shared/errors';
import { createAzureInventory } from '../../src/shared/azure';
import type { InventoryPort } from '../../src/shared/reconcile/ports';
import { scaleSetRef } from '../../src/shared/resource-id';
import { SUBSCRIPTION, meshScaleSetOf, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

describe('createAzureInventory', () => {
  test('satisfies InventoryPort and binds the configured scope', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'web', resourceGroup: 'rg-a', capacity: 2 }));
    arm.world.createScaleSet(scaleSetInput({ name: 'api', resourceGroup: 'rg-b', capacity: 1 }));
    const port: InventoryPort = createAzureInventory(clients, { subscriptions: [SUBSCRIPTION], resourceGroups: ['rg-a'] });

    const { result, calls } = await port.measureCalls(() => port.listMeshScaleSets());
    assert.deepEqual(result.scaleSets.map((s) => s.ref.name), ['web']);
    assert.equal(calls, 1);
    const [web] = result.scaleSets;
    assert.ok(web);
    assert.equal((await port.listInstances(web)).status, 'complete');
    assert.equal((await port.lookupScaleSet(scaleSetRef(SUBSCRIPTION, 'rg-b', 'api'))).state, 'in-mesh');
  });

  test('scaleSetOfVm: one GET for a Flexible VM, none for a Uniform VMSS VM, null when gone', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 1 }));
    const web = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    const [flexVm] = arm.world.listInstances(flex.id);
    const [webVm] = arm.world.listInstances(web.id);
    assert.ok(flexVm && webVm);
    const port = createAzureInventory(clients, { subscriptions: [SUBSCRIPTION], resourceGroups: [] });

    assert.deepEqual(await port.scaleSetOfVm(flexVm.id.toLowerCase()), meshScaleSetOf(flex).ref);
    assert.deepEqual(await port.scaleSetOfVm(webVm.id), meshScaleSetOf(web).ref);
    assert.deepEqual(arm.requests.countsByRoute(), { 'vm.get': 1 });
    arm.world.deleteVm(flex.id, flexVm.instanceId);
    assert.equal(await port.scaleSetOfVm(flexVm.id), null);
    await assert.rejects(port.scaleSetOfVm(web.id), (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.equal(error.message, `vmResourceId: not a virtual machine ID: ${web.id}`);
      return true;
    });
  });

  test('confirmGone answers the 404s', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const web = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    const ids = arm.world.listInstances(web.id).map((i) => i.id);
    arm.world.deleteInstances(web.id, ['1']);
    const port = createAzureInventory(clients, { subscriptions: [SUBSCRIPTION], resourceGroups: [] });
    const checked = await port.confirmGone(meshScaleSetOf(web), ids);
    assert.deepEqual([...checked.gone], [ids[1]?.toLowerCase()]);
    assert.deepEqual([...checked.present], [ids[0]?.toLowerCase()]);
  });
});
