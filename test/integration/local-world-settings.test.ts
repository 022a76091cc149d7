/**
 * The local world hands its app settings over explicitly — as the Functions app's own environment
 * and as `world.settings` for in-process callers — and never writes them into this process's
 * environment (which in-process code would then read in place of what it was given).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';

test('a local world leaves process.env as it was, and the app still runs with the world’s settings', async (t) => {
  const before = { ...process.env };
  const world = await startLocalWorld({ lifecycle: { createDelayMs: 0 }, settings: { VMSS_MESH_KV_PREFIX: 'world-settings' } });
  t.after(() => world.close());
  assert.deepEqual({ ...process.env }, before, 'starting a world writes nothing into process.env');
  assert.equal(world.settings['CONSUL_HTTP_ADDR'], world.consulUrl);
  assert.equal(world.settings['VMSS_MESH_KV_PREFIX'], 'world-settings');

  // The app reads them from its own environment: an event reconciles into this world's Consul,
  // under the prefix given above.
  const web = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...web, zones: ['1'], capacity: 1, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  const snapshot = world.consul.state.snapshot();
  assert.equal(snapshot.services.filter((s) => s.service === 'web').length, 1);
  assert.ok(snapshot.kv.some((e) => e.key.startsWith('world-settings/')), snapshot.kv.map((e) => e.key).join(', '));
  assert.deepEqual({ ...process.env }, before, 'nor does running the app in it');

  await world.close();
  assert.deepEqual({ ...process.env }, before, 'nor closing it');
});
