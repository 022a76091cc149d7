/**
 * End to end through the local Functions host: ARM changes in the emulator become Event Grid
 * deliveries posted to the `func start` route, and Consul (the double, over HTTP) follows, with
 * the relay (a fake push server) told about each change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';
import type { HostLogRecord } from '../../src/sandbox/functions-host/functions-host';
import { AZURE_CHECK_ID, MAINTENANCE_CHECK_ID } from '../../src/shared/ownership';
import { autoscaleNotification, autoscaleRequest, postWebhook } from '../../src/sandbox/event-grid';
import type { StatusView } from '../../src/shared/status-view';
import { startFakeRelay } from '../helpers/fake-relay';
import { primaryIpOf as ipOf } from '../../src/sandbox/sandbox-state-builder';

const selector = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };

/** Our part of Consul: nodes, services and checks, without bookkeeping indexes. */
function catalogOf(world: Awaited<ReturnType<typeof startLocalWorld>>) {
  const snapshot = world.consul.state.snapshot();
  return {
    nodes: snapshot.nodes.map((n) => ({ node: n.node, address: n.address, meta: n.meta, modifyIndex: n.modifyIndex })),
    services: snapshot.services.map((s) => ({ node: s.node, service: s.service, port: s.port, tags: s.tags, modifyIndex: s.modifyIndex })),
    checks: snapshot.checks.map((c) => ({ node: c.node, checkId: c.checkId, status: c.status, modifyIndex: c.modifyIndex })),
  };
}

async function status(world: Awaited<ReturnType<typeof startLocalWorld>>): Promise<StatusView> {
  const response = await fetch(`${world.host.url}/api/status`);
  assert.equal(response.status, 200);
  return (await response.json()) as StatusView;
}

test('scale-out, scale-in with drain, duplicates and reordering, through the local host', async (t) => {
  const relay = await startFakeRelay('push-token');
  t.after(() => relay.close());
  const logs: HostLogRecord[] = [];
  // Creation is immediate; a removed instance stays Deleting until the test flushes it.
  const world = await startLocalWorld({ lifecycle: { createDelayMs: 0, drainMs: 3_600_000 }, relayAddresses: [relay.address], relayToken: 'push-token', log: (r) => logs.push(r) });
  t.after(() => world.close());

  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({
    ...selector,
    zones: ['1', '2', '3'],
    capacity: 0,
    tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080', 'vmss-mesh-health-path': '/healthz' },
  });
  // An entry registered by hand next to ours: never touched.
  const manual = await fetch(`${world.consul.url}/v1/catalog/register`, {
    method: 'PUT',
    body: JSON.stringify({ Node: 'legacy-web-1', Address: '10.9.9.9', Service: { Service: 'web', Port: 8080 } }),
  });
  assert.equal(manual.status, 200);

  // --- scale-out 0 → 3
  world.arm.world.scale(selector, 3);
  const armInstances = world.arm.world.listInstances(selector);
  assert.equal(armInstances.length, 3);
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);

  let health = (await (await fetch(`${world.consul.url}/v1/health/service/web`)).json()) as Array<{
    Node: { Node: string; Address: string };
    Service: { Port: number; Tags: string[] };
    Checks: Array<{ CheckID: string; Status: string }>;
  }>;
  const ours = health.filter((e) => e.Node.Node !== 'legacy-web-1');
  assert.deepEqual(ours.map((e) => e.Node.Address).sort(), armInstances.map((i) => ipOf(i)).sort());
  for (const entry of ours) {
    assert.equal(entry.Service.Port, 8080);
    assert.ok(entry.Service.Tags.includes('vmss-mesh'));
    assert.deepEqual(entry.Checks.map((c) => [c.CheckID, c.Status]), [[AZURE_CHECK_ID, 'passing']]);
  }
  await relay.waitFor((held) => held.get('web')?.endpoints.filter((e) => e.health === 'ENDPOINT_HEALTH_PASSING').length === 3);

  let view = await status(world);
  assert.equal(view.totals.instances, 3);
  assert.equal(view.totals.passing, 3);
  assert.deepEqual(view.instances.map((i) => i.privateIp).sort(), armInstances.map((i) => ipOf(i)).sort());
  assert.ok(view.instances.every((i) => ['1', '2', '3'].includes(i.zone)));
  assert.equal(view.scaleSets[0]?.lastReconcile?.instanceCount, 3);
  assert.ok((view.scaleSets[0]?.lastReconcile?.finishedAt ?? 0) > 0);

  // --- scale-in 3 → 1: two instances are Deleting (drain), then gone.
  world.arm.world.scale(selector, 1);
  const deleting = world.arm.world.listInstances(selector).filter((i) => i.provisioningState === 'Deleting');
  assert.equal(deleting.length, 2);
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  view = await status(world);
  assert.equal(view.totals.instances, 3, 'draining instances stay registered');
  assert.deepEqual(view.instances.filter((i) => i.state === 'draining').map((i) => i.privateIp).sort(), deleting.map((i) => ipOf(i)).sort());
  health = (await (await fetch(`${world.consul.url}/v1/health/service/web`)).json()) as typeof health;
  const drainingChecks = health.filter((e) => e.Checks.some((c) => c.CheckID === MAINTENANCE_CHECK_ID && c.Status === 'critical'));
  assert.equal(drainingChecks.length, 2);
  await relay.waitFor((held) => held.get('web')?.endpoints.filter((e) => e.health === 'ENDPOINT_HEALTH_DRAINING').length === 2);

  world.arm.world.flush(); // the drain window ends: ARM deletes them
  await world.host.invoke('reconcileTimer');
  view = await status(world);
  assert.equal(view.totals.instances, 1);
  assert.equal(view.totals.passing, 1);
  await relay.waitFor((held) => held.get('web')?.endpoints.length === 1);
  assert.ok(logs.some((l) => l.functionName === 'reconcileTimer' && /swept 1 scale sets: \+0 ~0 -2/.test(l.message)), 'the timer logs its counts');

  // --- every event again, duplicated, reordered, in the CloudEvents schema: nothing changes.
  const before = catalogOf(world);
  const pushesBefore = relay.requests.length;
  const everything = world.arm.world.operations;
  for (const response of await world.deliver(everything, { schema: 'cloudevents', duplicateRate: 1, reorder: true, maxEventsPerBatch: 3, seed: 7 })) {
    assert.equal(response.status, 202, response.body);
  }
  assert.deepEqual(catalogOf(world), before);
  assert.equal(relay.requests.length, pushesBefore, 'nothing changed, nothing pushed');
  assert.ok(
    catalogOf(world).nodes.some((n) => n.node === 'legacy-web-1'),
    'the hand-registered node is still there',
  );
});

test('malformed and foreign events are completed without retry; other resources are ignored with a reason', async (t) => {
  const logs: HostLogRecord[] = [];
  const world = await startLocalWorld({ log: (r) => logs.push(r) });
  t.after(() => world.close());
  const post = (body: unknown) =>
    fetch(`${world.host.url}/runtime/webhooks/eventgrid?functionName=vmssEvents`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const storageEvent = {
    id: 'evt-storage',
    topic: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}`,
    subject: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/logs`,
    eventType: 'Microsoft.Resources.ResourceWriteSuccess',
    eventTime: new Date().toISOString(),
    dataVersion: '2',
    metadataVersion: '1',
    data: {
      resourceUri: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/logs`,
      operationName: 'Microsoft.Storage/storageAccounts/write',
      status: 'Succeeded',
      subscriptionId: SANDBOX_SUBSCRIPTION,
      tenantId: 't',
    },
  };
  assert.equal((await post([storageEvent])).status, 202);
  assert.ok(logs.some((l) => l.message.includes('"reason":"not-vmss"') && l.message.includes('evt-storage')));

  const malformed = { ...storageEvent, id: 'evt-bad', data: { ...storageEvent.data, resourceUri: 42 } };
  assert.equal((await post([malformed])).status, 202, 'a poison event is completed, not retried for 24 h');
  assert.ok(logs.some((l) => l.level === 'warning' && l.message.includes('malformed event ignored') && l.message.includes('resourceUri')));
  assert.equal(world.consul.state.snapshot().nodes.length, 0);
});

test('Consul unreachable: the delivery fails so Event Grid retries, and succeeds once Consul is back', async (t) => {
  const world = await startLocalWorld({ settings: { VMSS_MESH_TXN_BATCH_SIZE: '16' } });
  t.after(() => world.close());
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...selector, capacity: 2, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  world.consul.state.setBeforeRequest(() => ({ status: 503, body: 'No cluster leader' }));
  const failed = await world.deliverPending();
  assert.ok(failed.every((r) => r.status === 500), JSON.stringify(failed));
  world.consul.state.setBeforeRequest(undefined);
  const retried = await world.deliver(world.arm.world.operations, { seed: 2 });
  assert.ok(retried.every((r) => r.status === 202));
  assert.equal((await status(world)).totals.instances, 2);
});

test('autoscale webhook: a scale set scale-out is reconciled; other resource types are ignored; bad bodies get 400', async (t) => {
  const world = await startLocalWorld();
  t.after(() => world.close());
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  const set = world.arm.world.createScaleSet({ ...selector, capacity: 1, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  world.arm.world.scale(selector, 4); // autoscale acted; its webhook arrives
  const hook = (body: Record<string, unknown>) => postWebhook(world.host.url, autoscaleRequest(body));

  const scaled = await hook(autoscaleNotification({ resourceId: set.id, oldCapacity: 1, newCapacity: 4, timestamp: new Date().toISOString() }));
  assert.equal(scaled.status, 200, scaled.body);
  const answer = JSON.parse(scaled.body) as { action: string; outcome: string; registered: number };
  assert.equal(answer.action, 'reconciled');
  assert.equal(answer.registered, 4);
  assert.equal((await status(world)).totals.instances, 4);

  const plan = await hook(
    autoscaleNotification({
      resourceId: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Web/serverfarms/plan`,
      oldCapacity: 1,
      newCapacity: 2,
      timestamp: new Date().toISOString(),
    }),
  );
  assert.equal(plan.status, 200);
  assert.match(plan.body, /"action":"ignored".*"reason":"not-a-scale-set-autoscale"/);

  const bad = await hook({ version: '1.0', status: 'Activated', operation: 'Scale Out', context: { resourceId: 7 } });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).error, /context/);
  const notJson = await fetch(`${world.host.url}/api/autoscaleWebhook`, { method: 'POST', body: '{oops' });
  assert.equal(notJson.status, 400);
});

test('a deleted Flexible-mode VM: ARM answers 404 for it, yet its delete event removes its node', async (t) => {
  const world = await startLocalWorld(); // drain 0: the VM is gone by the time the event arrives
  t.after(() => world.close());
  const flex = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'flex' };
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...flex, orchestrationMode: 'Flexible', capacity: 3, tags: { 'vmss-mesh-service': 'flex', 'vmss-mesh-port': '9000' } });
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  assert.equal((await status(world)).totals.instances, 3);

  const [victim] = world.arm.world.listInstances(flex);
  world.arm.world.deleteVm(flex, victim!.instanceId);
  world.arm.world.flush();
  const [deleteOp] = world.pendingOperations;
  assert.equal(deleteOp?.operationName, 'Microsoft.Compute/virtualMachines/delete');
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  const view = await status(world);
  assert.equal(view.totals.instances, 2);
  assert.ok(!view.instances.some((i) => i.name === victim!.name));
});
