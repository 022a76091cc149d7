/**
 * The emulated world on its own: lifecycle with deterministic waits, scale-in policies, operation
 * records of world API calls, IP allocation, and close() leaving no timer behind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ArmWorld, sequentialIpv4Allocator } from '../../src/sandbox/arm-emulator';
import type { WorldChange, WorldOptions } from '../../src/sandbox/arm-emulator';
import { scaleSetInput } from '../helpers/arm-fixture';

function world(t: { after(fn: () => void): void }, options?: WorldOptions): ArmWorld {
  const w = new ArmWorld(options);
  t.after(() => w.close());
  return w;
}

const states = (w: ArmWorld, id: string) => w.listInstances(id).map((i) => [i.instanceId, i.provisioningState, i.powerState, i.health]);

describe('ArmWorld lifecycle', () => {
  test('new instances are Creating / starting / Initializing until flushed', (t) => {
    const w = world(t, { lifecycle: { createDelayMs: 60_000 } });
    const ss = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    assert.deepEqual(states(w, ss.id), [
      ['0', 'Creating', 'starting', 'Initializing'],
      ['1', 'Creating', 'starting', 'Initializing'],
    ]);
    assert.equal(w.pendingTransitions, 2);
    w.flush();
    assert.deepEqual(states(w, ss.id), [
      ['0', 'Succeeded', 'running', 'Healthy'],
      ['1', 'Succeeded', 'running', 'Healthy'],
    ]);
  });

  test('settled() resolves once real timers have created and drained instances', async (t) => {
    const w = world(t, { lifecycle: { createDelayMs: 20, drainMs: 20 } });
    const ss = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 3, initialHealth: 'Unhealthy' }));
    await w.settled();
    assert.deepEqual(states(w, ss.id).map((s) => s.slice(1)), [
      ['Succeeded', 'running', 'Unhealthy'],
      ['Succeeded', 'running', 'Unhealthy'],
      ['Succeeded', 'running', 'Unhealthy'],
    ]);
    w.scale(ss.id, 1);
    assert.equal(w.getScaleSet(ss.id)?.capacity, 1);
    assert.deepEqual(w.listInstances(ss.id).map((i) => i.provisioningState), ['Succeeded', 'Deleting', 'Deleting']);
    await w.settled();
    assert.deepEqual(w.listInstances(ss.id).map((i) => i.instanceId), ['0']);
  });

  test('a health state set while Creating is kept when provisioning completes', (t) => {
    const w = world(t, { lifecycle: { createDelayMs: 60_000 } });
    const ss = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    w.setHealth(ss.id, '0', 'Unhealthy');
    w.flush();
    assert.deepEqual(states(w, ss.id), [['0', 'Succeeded', 'running', 'Unhealthy']]);
  });

  test('deleting a scale set drains every instance, then the set disappears', (t) => {
    const w = world(t, { lifecycle: { drainMs: 60_000 } });
    const ss = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    w.deleteScaleSet(ss.id);
    assert.equal(w.getScaleSet(ss.id)?.provisioningState, 'Deleting');
    assert.deepEqual(w.listInstances(ss.id).map((i) => i.provisioningState), ['Deleting', 'Deleting']);
    assert.throws(() => w.scale(ss.id, 5), { name: 'ArmEmulatorError', message: 'Scale set web is being deleted.' });
    w.flush();
    assert.equal(w.getScaleSet(ss.id), undefined);
    assert.equal(w.hasResourceGroup(ss.subscriptionId, ss.resourceGroup), true);
  });

  test('close() clears pending timers and releases waiters', async (t) => {
    const w = world(t, { lifecycle: { createDelayMs: 60_000 } });
    w.createScaleSet(scaleSetInput({ name: 'web', capacity: 3 }));
    const waiting = w.settled();
    assert.equal(w.pendingTransitions, 3);
    w.close();
    assert.equal(w.pendingTransitions, 0);
    await waiting;
  });

  test('change events follow each instance', (t) => {
    const w = world(t, { lifecycle: { createDelayMs: 60_000, drainMs: 60_000 } });
    const changes: WorldChange[] = [];
    w.on('change', (change) => changes.push(change));
    const ss = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    w.flush();
    w.deleteInstances(ss.id, ['0']);
    w.flush();
    assert.deepEqual(changes.map((c) => ('instanceId' in c ? `${c.kind}:${c.instanceId}` : c.kind)), [
      'scale-set-created',
      'instance-created:0',
      'instance-updated:0',
      'instance-updated:0',
      'instance-removed:0',
    ]);
  });
});

describe('ArmWorld scale-in', () => {
  test('Default balances zones, then removes the highest instance id', (t) => {
    const w = world(t);
    const ss = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 6, zones: ['1', '2', '3'] }));
    assert.deepEqual(w.listInstances(ss.id).map((i) => [i.instanceId, i.zone]), [['0', '1'], ['1', '2'], ['2', '3'], ['3', '1'], ['4', '2'], ['5', '3']]);
    w.scale(ss.id, 4);
    w.scale(ss.id, 3);
    assert.deepEqual(w.listInstances(ss.id).map((i) => [i.instanceId, i.zone]), [['0', '1'], ['1', '2'], ['2', '3']]);
    w.scale(ss.id, 5);
    assert.deepEqual(w.listInstances(ss.id).map((i) => i.instanceId), ['0', '1', '2', '6', '7']);
  });

  test('OldestVM and NewestVM remove by age', (t) => {
    const w = world(t);
    const oldest = w.createScaleSet(scaleSetInput({ name: 'old', capacity: 3, scaleInPolicy: 'OldestVM' }));
    const newest = w.createScaleSet(scaleSetInput({ name: 'new', capacity: 3, scaleInPolicy: 'NewestVM', orchestrationMode: 'Flexible' }));
    const newestNames = w.listInstances(newest.id).map((i) => i.name);
    w.scale(oldest.id, 1);
    w.scale(newest.id, 1);
    assert.deepEqual(w.listInstances(oldest.id).map((i) => i.instanceId), ['2']);
    assert.deepEqual(w.listInstances(newest.id).map((i) => i.name), newestNames.slice(0, 1));
  });
});

describe('ArmWorld operation records', () => {
  test('world calls that stand for ARM operations are recorded; platform changes are not', (t) => {
    const w = world(t);
    const uniform = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    const flex = w.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 2 }));
    const [vm] = w.listInstances(flex.id);
    assert.ok(vm);
    w.scale(uniform.id, 3);
    w.setTags(uniform.id, { team: 'x' });
    w.deleteInstances(uniform.id, ['0']);
    w.deleteVm(flex.id, vm.instanceId);
    w.setHealth(uniform.id, '1', 'Unhealthy');
    w.setPowerState(uniform.id, '1', 'stopped');
    w.deleteScaleSet(uniform.id);

    assert.deepEqual(
      w.operations.map((op) => [op.sequence, op.operationName, op.resourceUri, op.httpMethod, op.origin]),
      [
        [1, 'Microsoft.Compute/virtualMachineScaleSets/write', uniform.id, 'PUT', 'world'],
        [2, 'Microsoft.Compute/virtualMachineScaleSets/write', flex.id, 'PUT', 'world'],
        [3, 'Microsoft.Compute/virtualMachineScaleSets/write', uniform.id, 'PATCH', 'world'],
        [4, 'Microsoft.Compute/virtualMachineScaleSets/write', uniform.id, 'PATCH', 'world'],
        [5, 'Microsoft.Compute/virtualMachineScaleSets/delete/action', uniform.id, 'POST', 'world'],
        [6, 'Microsoft.Compute/virtualMachines/delete', vm.id, 'DELETE', 'world'],
        [7, 'Microsoft.Compute/virtualMachineScaleSets/delete', uniform.id, 'DELETE', 'world'],
      ],
    );
    assert.ok(w.operations.every((op) => op.subscriptionId === uniform.subscriptionId && op.resourceGroup === 'rg-mesh' && op.status === 'Succeeded'));
  });
});

describe('IP allocation', () => {
  test('the default hands out loopback addresses in order, skipping .0 and .255', (t) => {
    const allocate = sequentialIpv4Allocator('127.0.1.253');
    const request = { scaleSetId: 's', instanceName: 'i', nicIndex: 0, ipConfigurationIndex: 0 };
    assert.deepEqual([allocate(request), allocate(request), allocate(request)], ['127.0.1.253', '127.0.1.254', '127.0.2.1']);
    const w = world(t);
    const ss = w.createScaleSet(scaleSetInput({ name: 'web', capacity: 2, ipConfigurationsPerNic: 2 }));
    assert.deepEqual(w.listInstances(ss.id).flatMap((i) => i.nics.flatMap((n) => n.ipConfigurations.map((c) => c.privateIp))), ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4']);
  });

  test('a custom allocator is asked for every IP configuration; an exhausted range is an error', (t) => {
    const asked: string[] = [];
    const w = world(t, {
      ipAllocator: (r) => {
        asked.push(`${r.instanceName}/${r.nicIndex}/${r.ipConfigurationIndex}`);
        return `10.0.0.${asked.length}`;
      },
    });
    w.createScaleSet(scaleSetInput({ name: 'web', capacity: 1, nicsPerInstance: 2 }));
    assert.deepEqual(asked, ['web_0/0/0', 'web_0/1/0']);
    const tiny = sequentialIpv4Allocator('10.0.0.254', '10.0.0.255');
    const request = { scaleSetId: 's', instanceName: 'i', nicIndex: 0, ipConfigurationIndex: 0 };
    assert.equal(tiny(request), '10.0.0.254');
    assert.throws(() => tiny(request), { name: 'RangeError', message: 'IP range 10.0.0.254 … 10.0.0.255 is exhausted' });
  });
});
