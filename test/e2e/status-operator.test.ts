/**
 * `GET /api/status` through the local Functions host: each scale set's last successful reconcile and
 * its staleness (twice the timer period of VMSS_MESH_RECONCILE_SCHEDULE), and the lowest ARM
 * remaining-reads value the app saw — counted down by the ARM emulator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION, startLocalWorld } from '../../src/sandbox/local-world';
import { markerKey } from '../../src/shared/ownership';
import { scaleSetId } from '../../src/shared/resource-id';
import type { StatusView } from '../../src/shared/status-view';
import type { HostLogRecord } from '../../src/sandbox/functions-host/functions-host';

test('status shows the last successful reconcile, flags a scale set not reconciled for twice the timer period, and the lowest ARM reads remaining', async (t) => {
  // A 10-minute timer: stale after 20 minutes.
  const logs: HostLogRecord[] = [];
  let logged: () => void = () => undefined;
  const world = await startLocalWorld({
    lifecycle: { createDelayMs: 0, drainMs: 0 },
    settings: { VMSS_MESH_RECONCILE_SCHEDULE: '0 */10 * * * *' },
    log: (record) => {
      logs.push(record);
      logged();
    },
  });
  t.after(() => world.close());
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web', capacity: 2, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  const before = Date.now();
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);

  // A scale set whose last successful reconcile was 21 minutes ago (its marker as a reconcile writes it).
  const ghost = scaleSetId(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP, 'ghost');
  const longAgo = Date.now() - 21 * 60_000;
  const marker = { scaleSetId: ghost, listedAt: longAgo, runId: 'r1', claimedAt: longAgo, lastReconcile: { runId: 'r1', listedAt: longAgo, finishedAt: longAgo, registered: 0, updated: 0, deregistered: 0, skipped: 0, tombstonesWritten: 0, tombstonesExpired: 0, instanceCount: 0, committedIndex: 1, batches: 0 } };
  const put = await fetch(`${world.consulUrl}/v1/kv/${markerKey(world.settings['VMSS_MESH_KV_PREFIX'] ?? 'vmss-mesh', ghost)}`, { method: 'PUT', body: JSON.stringify(marker) });
  assert.equal(put.status, 200);

  const response = await fetch(`${world.host.url}/api/status`);
  assert.equal(response.status, 200);
  const view = (await response.json()) as StatusView;
  assert.deepEqual(view.staleness, { timerPeriodSeconds: 600, thresholdSeconds: 1200, staleScaleSets: [ghost] });
  const web = view.scaleSets.find((s) => s.id.endsWith('/web'));
  assert.ok(web?.lastSuccessAt && Date.parse(web.lastSuccessAt) >= before, JSON.stringify(web));
  assert.equal(web.stale, false);
  const old = view.scaleSets.find((s) => s.id === ghost);
  assert.equal(old?.stale, true);
  assert.ok(old.lastSuccessAgeSeconds !== null && old.lastSuccessAgeSeconds! >= 21 * 60);

  // The emulator's reads bucket starts at 250; the reconcile's reads counted it down.
  const budget = view.armReadBudget;
  assert.ok(budget, 'armReadBudget present');
  const sub = budget.subscriptions.find((s) => s.subscriptionId === SANDBOX_SUBSCRIPTION.toLowerCase());
  assert.ok(sub, JSON.stringify(budget));
  assert.ok(sub.lowestRemaining < 250 && sub.lowestRemaining > 200, JSON.stringify(sub));
  assert.equal(budget.lowestRemaining, Math.min(...budget.subscriptions.map((s) => s.lowestRemaining)));
  assert.equal(budget.level, 'normal');

  // The timer's sweep line carries the lowest reads remaining and whether the sweep slowed down.
  const sweepLine = () => logs.map((r) => (r.functionName === 'reconcileTimer' && r.message.includes('"event":"sweep"') ? (JSON.parse(r.message) as Record<string, unknown>) : undefined)).find(Boolean);
  const run = await fetch(`${world.host.url}/admin/functions/reconcileTimer`, { method: 'POST', body: '{"input":""}' });
  assert.equal(run.status, 202);
  while (!sweepLine()) await new Promise<void>((resolve) => (logged = resolve));
  const line = sweepLine()!;
  assert.equal(typeof line['armReadsRemaining'], 'number');
  assert.ok((line['armReadsRemaining'] as number) < 250);
  assert.equal(line['pacedConcurrency'], 1, 'one scale set to sweep (ghost left the mesh with no instances), at full speed');
  assert.match(String(line['armBudgetNote']), /^lowest ARM reads remaining \d+ \(x-ms-ratelimit-remaining-subscription-(global-)?reads, subscription [0-9a-f-]+\); full speed \(1 at a time\)$/);
});
