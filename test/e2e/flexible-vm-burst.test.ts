/**
 * D4 (issue 9): a burst of Flexible VM events in one Event Grid delivery, through the local
 * Functions host and the real SDK against the ARM emulator (with ARM's published rate limits on).
 * Resolving each VM's scale set must not cost one ARM GET per event, and the delivery must be
 * answered within the delivery deadline even while ARM throttles.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';
import type { ArmOperationRecord } from '../../src/sandbox/arm-emulator';

const VMS = 1000;
const DEADLINE_SECONDS = 8;
const selector = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'flex' };

function vmWriteOperations(vmIds: readonly string[]): ArmOperationRecord[] {
  const now = new Date().toISOString();
  return vmIds.map((id, i) => ({
    sequence: i + 1,
    operationName: 'Microsoft.Compute/virtualMachines/write',
    resourceUri: id,
    resourceProvider: 'Microsoft.Compute',
    subscriptionId: SANDBOX_SUBSCRIPTION,
    resourceGroup: SANDBOX_RESOURCE_GROUP,
    status: 'Succeeded',
    correlationId: `burst-${i}`,
    eventTime: now,
    origin: 'rest',
  }));
}

/** `maxGets`: HTTP GETs of VMs allowed (the SDK retries a throttled GET up to 3 times: 4 requests per look-up). */
async function burst(t: TestContext, throttle: number, maxGets: number) {
  const world = await startLocalWorld({
    lifecycle: { createDelayMs: 0, drainMs: 3_600_000 },
    settings: { VMSS_MESH_DELIVERY_DEADLINE_SECONDS: String(DEADLINE_SECONDS) },
  });
  t.after(() => world.close());
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({
    ...selector,
    orchestrationMode: 'Flexible',
    capacity: VMS,
    tags: { 'vmss-mesh-service': 'flex', 'vmss-mesh-port': '8080' },
  });
  const vmIds = world.arm.world.listInstances(selector).map((i) => i.id);
  assert.equal(vmIds.length, VMS);
  world.arm.requests.clear();
  // On top of ARM's own rate limits (on in the emulator): every request answered 429 for a while.
  if (throttle > 0) world.arm.faults.throttle(throttle, { retryAfterSeconds: 1 });

  const started = Date.now();
  const responses = await world.deliver(vmWriteOperations(vmIds), { maxEventsPerBatch: 5000 });
  const elapsedMs = Date.now() - started;
  assert.equal(responses.length, 1, 'one delivery');

  const resolutionGets = world.arm.requests.count({ route: 'vm.get' });
  const all = world.arm.requests.entries.length;
  const throttled = world.arm.requests.count({ status: 429 });
  t.diagnostic(`delivery answered ${responses[0]?.status} in ${elapsedMs} ms; VM GETs ${resolutionGets}, ARM requests ${all} (${throttled} throttled)`);

  assert.ok(resolutionGets <= maxGets, `VM → scale set resolution made ${resolutionGets} GETs`);
  // The deadline plus the slack of a loaded 2-core machine, well under Event Grid's 30 s.
  assert.ok(elapsedMs < (DEADLINE_SECONDS + 6) * 1000, `delivery took ${elapsedMs} ms`);
  return responses[0]!;
}

test(`${VMS} Flexible VM events in one delivery: a handful of ARM GETs to resolve them, acknowledged within the deadline`, async (t) => {
  const response = await burst(t, 0, 4);
  // Acknowledged: nothing in it is malformed, and what was not reconciled in time stays queued.
  assert.equal(response.status, 202, response.body);
});

test(`${VMS} Flexible VM events in one delivery while ARM answers 429: still a handful of GETs, answered within the deadline`, async (t) => {
  // Per resource group: ≤ 2 look-ups at once, then exponential back-off (1, 2, 4 … s) while ARM
  // keeps throttling: a few look-ups per delivery, each 4 requests with the SDK's retries (before: 1,248).
  const response = await burst(t, 40, 6 * 4);
  // 202 when every VM was resolved in time; otherwise 500 and Event Grid delivers again (the
  // answers learned so far are cached, so the next delivery is cheap).
  assert.ok([202, 500].includes(response.status), `${response.status} ${response.body}`);
});
