/**
 * D5 (issue 9): an event that can never succeed must be acknowledged, not retried for 24 h.
 * Through the local Functions host and the real SDK against the ARM emulator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';
import type { ArmOperationRecord } from '../../src/sandbox/arm-emulator';
import type { HostLogRecord } from '../../src/sandbox/functions-host/functions-host';

function vmWrite(resourceUri: string): ArmOperationRecord {
  return {
    sequence: 1,
    operationName: 'Microsoft.Compute/virtualMachines/write',
    resourceUri,
    resourceProvider: 'Microsoft.Compute',
    subscriptionId: SANDBOX_SUBSCRIPTION,
    resourceGroup: SANDBOX_RESOURCE_GROUP,
    status: 'Succeeded',
    correlationId: 'poison',
    eventTime: new Date().toISOString(),
    origin: 'rest',
  };
}

async function world(t: import('node:test').TestContext) {
  const logs: HostLogRecord[] = [];
  const w = await startLocalWorld({ lifecycle: { createDelayMs: 0, drainMs: 3_600_000 }, log: (r) => logs.push(r) });
  t.after(() => w.close());
  w.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  return { w, logs };
}

test('an event whose resource ID is 5,000 characters long is ignored with the reason, acknowledged, and costs no ARM call', async (t) => {
  const { w, logs } = await world(t);
  const longId = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines/${'v'.repeat(5000)}`;
  w.arm.requests.clear();
  const [response] = await w.deliver([vmWrite(longId)]);
  assert.equal(response?.status, 202, response?.body);
  assert.equal(w.arm.requests.entries.length, 0, 'no ARM call');
  const ignored = logs.find((r) => r.message.includes('invalid-resource-id'));
  assert.ok(ignored, logs.map((r) => r.message).join('\n'));
  assert.match(ignored.message, /longer than 2048 characters/);
  assert.ok(ignored.message.length < 2000, 'the log line does not repeat the whole ID');
});

test('ARM answering 431 to the VM GET is permanent for that event: logged, acknowledged, not retried', async (t) => {
  const { w, logs } = await world(t);
  const selector = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'flex' };
  w.arm.world.createScaleSet({ ...selector, orchestrationMode: 'Flexible', capacity: 1, tags: { 'vmss-mesh-service': 'flex', 'vmss-mesh-port': '8080' } });
  const [vm] = w.arm.world.listInstances(selector);
  assert.ok(vm);
  w.arm.requests.clear();
  w.arm.faults.fail(5, { status: 431, code: 'RequestHeaderFieldsTooLarge', message: 'Request header fields too large.', route: 'vm.get' });
  const [response] = await w.deliver([vmWrite(vm.id)]);
  assert.equal(response?.status, 202, response?.body);
  assert.equal(w.arm.requests.count({ route: 'vm.get' }), 1, 'one GET, no retry');
  const failed = logs.find((r) => r.message.includes('reconcile-failed'));
  assert.ok(failed, logs.map((r) => r.message).join('\n'));
  assert.match(failed.message, /not retried/);
  assert.match(failed.message, /431/);
});
