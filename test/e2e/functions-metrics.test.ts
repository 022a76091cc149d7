/**
 * The app's metrics as the sandbox shows them: the local host's GET /metrics (Prometheus text)
 * after a scale-out, a scale-in and a scale set whose instances were scaled in before the app
 * first saw them (skipped: being deleted), delivered through Event Grid, and a timer sweep, from
 * the packaged app loaded as the worker loads it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';
import { startFakeRelay } from '../helpers/fake-relay';

const selector = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };
const api = { ...selector, name: 'api' };

/** `name{labels}` → value, from Prometheus text (labels as rendered: sorted). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return samples(await response.text());
}

test('GET /metrics of the local host shows the reconciles, registrations, ARM requests and latency of sandbox activity', async (t) => {
  const relay = await startFakeRelay('push-token');
  t.after(() => relay.close());
  const world = await startLocalWorld({ lifecycle: { createDelayMs: 0, drainMs: 0 }, relayAddresses: [relay.address], relayToken: 'push-token' });
  t.after(() => world.close());

  // Before anything ran: the app has not built its runtime, so it has recorded nothing.
  const before = await scrape(world.host.url);
  assert.equal([...before.keys()].filter((k) => k.startsWith('vmss_mesh_reconciles_total')).length, 0);

  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...selector, zones: ['1'], capacity: 0, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  world.arm.world.scale(selector, 3);
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  await relay.waitFor((held) => held.get('web')?.endpoints.length === 3);

  world.arm.world.scale(selector, 1);
  await world.arm.world.settled();
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  await relay.waitFor((held) => held.get('web')?.endpoints.length === 1);
  // Created with 3 and scaled in to 1 before any delivery: two instances the app never registered
  // are Deleting (a long drain) when it first lists them, and are skipped, not registered.
  world.arm.world.createScaleSet({ ...api, zones: ['1'], capacity: 3, tags: { 'vmss-mesh-service': 'api', 'vmss-mesh-port': '9090' }, lifecycle: { drainMs: 3_600_000 } });
  world.arm.world.scale(api, 1);
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  await relay.waitFor((held) => held.get('api')?.endpoints.length === 1);
  await world.host.invoke('reconcileTimer');

  const after = await scrape(world.host.url);
  const value = (key: string) => after.get(key) ?? 0;
  assert.ok(value('vmss_mesh_reconciles_total{outcome="applied",trigger="event"}') >= 2, JSON.stringify([...after]));
  // The sweep: web unchanged; api unchanged too, its Deleting instances skipped again.
  assert.equal(value('vmss_mesh_reconciles_total{outcome="unchanged",trigger="sweep"}'), 2);
  assert.equal(value('vmss_mesh_registrations_total{trigger="event"}'), 4);
  // Every run of api skips them: one per delivery of its creation and its scale-in.
  const deletingSkips = value('vmss_mesh_skips_total{reason="deleting",trigger="event"}');
  assert.ok(deletingSkips >= 2 && deletingSkips % 2 === 0, `deleting skips: ${deletingSkips}`);
  assert.equal(value('vmss_mesh_skips_total{reason="deleting",trigger="sweep"}'), 2);
  assert.equal(value('vmss_mesh_deregistrations_total{trigger="event"}'), 2);
  assert.ok(value('vmss_mesh_relay_pushes_total{result="ok"}') >= 2);
  assert.ok(value('vmss_mesh_arm_requests_total{result="ok"}') > 0);
  assert.ok(after.has('vmss_mesh_arm_requests_total{result="throttled"}'));
  // The ARM emulator sends x-ms-ratelimit-remaining-* headers and counts them down.
  const remaining = value(`vmss_mesh_arm_reads_remaining{subscription="${SANDBOX_SUBSCRIPTION.toLowerCase()}"}`);
  assert.ok(remaining > 0, JSON.stringify([...after].filter(([k]) => k.includes('remaining'))));
  const latencies = value('vmss_mesh_event_to_push_duration_seconds_count{trigger="event"}');
  assert.ok(latencies >= 2, `event-to-push samples: ${latencies}`);
  // Every sample is under the +Inf bucket's count and the sum is a plausible number of seconds.
  assert.equal(value('vmss_mesh_event_to_push_duration_seconds_bucket{le="+Inf",trigger="event"}'), latencies);
  assert.ok(value('vmss_mesh_event_to_push_duration_seconds_sum{trigger="event"}') < 60 * latencies);
  assert.equal(value('vmss_mesh_reconcile_duration_seconds_count{outcome="unchanged",trigger="sweep"}'), 2);
});
