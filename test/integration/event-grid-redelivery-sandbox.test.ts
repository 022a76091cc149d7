/**
 * The sandbox's Event Grid feed redelivers a delivery the Functions app failed (Consul answering
 * 500 made `vmssEvents` fail), as Event Grid does, so the change reaches Consul without the
 * timer's sweep (the timer here never fires during the test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { startSandbox, SANDBOX_SCALE_SETS } from '../../src/sandbox/sandbox';
import { EXTERNAL_SOURCE, NODE_META } from '../../src/shared/ownership';

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('a delivery the app failed is redelivered until accepted, and the scale-out reaches Consul without the timer', async (t) => {
  const consul = await startConsulDouble();
  t.after(() => consul.close());
  const sandbox = await startSandbox({
    azurite: false,
    useFuncBinary: false,
    useConsulBinary: false,
    consulDouble: consul,
    traffic: false,
    createDelayMs: 50,
    drainMs: 100,
    // Once a year: only events reconcile during the test.
    timerSchedule: '0 0 0 1 1 *',
    hostPort: 0,
    relayPort: 0,
    relayAdminPort: 0,
  });
  t.after(() => sandbox.close());
  const set = SANDBOX_SCALE_SETS[0]!;
  const arm = sandbox.world.arm.world;
  const armCount = () => arm.listInstances({ subscriptionId: sandbox.world.settings['VMSS_MESH_SUBSCRIPTIONS']!, resourceGroup: sandbox.world.settings['VMSS_MESH_RESOURCE_GROUPS']!, name: set.name }).filter((i) => i.provisioningState === 'Succeeded').length;
  const ours = () => consul.state.snapshot().nodes.filter((n) => n.meta[NODE_META.externalSource] === EXTERNAL_SOURCE && n.meta[NODE_META.scaleSetId]?.endsWith(`/${set.name}`)).length;
  await until('the first registrations', () => armCount() > 0 && ours() === armCount() && sandbox.eventGridStats().unsettled === 0, 30_000);
  const before = sandbox.eventGridStats();
  const capacity = armCount() + 1;

  // Consul answers 500 to everything until both deliveries of the scale-out (the operation, and
  // its completion once the instance is provisioned) have failed: only a redelivery is left.
  const failedBoth = () => sandbox.eventGridStats().failedFirstAttempts >= before.failedFirstAttempts + 2;
  consul.state.setBeforeRequest(() => (failedBoth() ? undefined : { status: 500, body: 'rpc error making call: No cluster leader' }));
  t.after(() => consul.state.setBeforeRequest(undefined));
  await sandbox.act({ action: 'scale', scaleSet: set.name, capacity });
  await until('two failed deliveries', failedBoth, 30_000);
  await until(`${capacity} ${set.name} nodes in Consul`, () => armCount() === capacity && ours() === capacity, 20_000);
  await until('the feed to settle', () => sandbox.eventGridStats().unsettled === 0, 20_000);
  const after = sandbox.eventGridStats();
  assert.ok(after.redeliveries > before.redeliveries, 'a redelivery was made');
  assert.ok(after.acceptedAfterRetry > before.acceptedAfterRetry, 'a delivery was accepted after a redelivery');
  assert.equal(after.givenUp, before.givenUp);
});
