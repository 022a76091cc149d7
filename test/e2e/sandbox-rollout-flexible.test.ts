/**
 * A rollout of the sandbox's Flexible scale set (catalog: its VMs are ARM resources of their own,
 * so their events name the VM, not the scale set), in a sandbox without traffic clients: the new
 * scale set is Flexible too, carries the image, gets the service's registrations, and the old one
 * is deleted and deregistered. Without traffic there is nothing to count: the rollout must not wait
 * for calls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RolloutRefused } from '../../src/sandbox/rollout';
import { selectorOf, startSandbox } from '../../src/sandbox/sandbox';
import { deferrer } from '../helpers/defer';

test('rollout of a Flexible scale set without traffic: catalog → catalog-v2 (image), old one retired, registrations follow', async (t) => {
  const defer = deferrer(t);
  const sandbox = await startSandbox({ azurite: false, traffic: false, createDelayMs: 300, drainMs: 1000, timerSchedule: '* * * * * *', hostPort: 0, relayPort: 0, relayAdminPort: 0 });
  defer(() => sandbox.close());
  const arm = sandbox.world.arm.world;
  // Until catalog's instances are registered (the rollout copies its capacity).
  const deadline = Date.now() + 60_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'catalog registered within 60 s');
    const state = await sandbox.refreshed();
    if (state.scaleSets.find((s) => s.name === 'catalog')?.instances.every((i) => i.consul === 'passing') && arm.listInstances(selectorOf('catalog')).length === 2) break;
  }
  await assert.rejects(sandbox.rollout({ service: 'catalog', to: 'catalog-v2', steps: [50, 50, 100] }), (e: unknown) => e instanceof RolloutRefused && e.message === 'steps: step 2: 50 does not increase on 50 (steps must increase)');

  const lines: string[] = [];
  const results = await sandbox.rollout({ service: 'catalog', to: 'Contoso:catalog:grpc:2.1.0', steps: [100] }, { onLine: (l) => lines.push(l), stepTimeoutMs: 120_000 });
  t.diagnostic(lines.join('\n'));
  assert.deepEqual(
    results.map((r) => [r.kind, r.name, r.measuredCalls]),
    [
      ['create', 'create catalog-v2 (weight 0)', 0],
      ['shift', 'shift 100 % to catalog-v2', 0],
      ['retire', 'retire catalog', 0],
    ],
  );
  const created = arm.getScaleSet(selectorOf('catalog-v2'));
  assert.equal(created?.orchestrationMode, 'Flexible');
  assert.equal(created?.imageReference, 'Contoso:catalog:grpc:2.1.0');
  assert.equal(created?.tags['vmss-mesh-weight'], '100');
  assert.equal(created?.tags['vmss-mesh-service'], 'catalog');
  assert.equal(arm.getScaleSet(selectorOf('catalog')), undefined);
  // Consul holds catalog-v2's two instances and nothing of the old scale set.
  const state = await sandbox.refreshed();
  assert.deepEqual(
    state.scaleSets.map((s) => [s.name, s.instances.map((i) => i.consul)]),
    [
      ['orders', ['passing', 'passing']],
      ['catalog-v2', ['passing', 'passing']],
    ],
  );
  const addresses = new Set(state.scaleSets.flatMap((s) => s.instances.map((i) => i.privateIp)));
  assert.deepEqual(
    sandbox.ownedNodes().filter((n) => !addresses.has(n.address)).map((n) => n.node),
    [],
  );
  assert.equal(sandbox.state().rollout?.phase, 'done');
});
