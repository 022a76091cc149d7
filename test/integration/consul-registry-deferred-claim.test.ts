/**
 * The deferred claim (consul/registry.ts): a run that finds its scale set's last run finished reads
 * without claiming; writing nothing then costs one marker write, and losing the race to claim
 * writes nothing and asks the caller to claim first.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { markerKey } from '../../src/shared/ownership';
import { ClaimLostError } from '../../src/shared/reconcile/ports';
import type { InventoryPort } from '../../src/shared/reconcile/ports';
import { reconcileScaleSet } from '../../src/shared/reconcile/reconcile-scale-set';
import { noRelayPublisher } from '../../src/shared/endpoints';
import type { Instance, MeshScaleSet } from '../../src/shared/model';
import { scaleSetRef } from '../../src/shared/resource-id';
import { desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';

const vms = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `vm_${i}`, ip: `10.0.0.${i + 4}` }));

describe('deferred claim', () => {
  test('a run that changes nothing writes the marker once (summary and claim in one CAS); a run after a crash claims first', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`quiet-${uniqueSuffix()}`);
    const desired = vms(3).map((vm) => desiredNode(ss, vm));
    const first = await registry.beginReconcile(ss, 1_000);
    assert.ok(first.claimIndex !== undefined, 'no marker yet: claimed first');
    await first.apply(localPlan(ss, desired, first));

    consul.state.clearRequests();
    const quiet = await registry.beginReconcile(ss, 2_000, { runId: 'quiet' });
    assert.equal(quiet.claimIndex, undefined, 'the last run finished: nothing claimed yet');
    const result = await quiet.apply(localPlan(ss, desired, quiet));
    assert.deepEqual([result.counts.batches, result.markerWrites, result.summaryWritten], [0, 1, true]);
    const writes = consul.state.requests.filter((r) => r.method === 'PUT');
    assert.deepEqual(writes.map((r) => r.path), ['/v1/txn'], 'one Consul write in the whole run');
    const marker = JSON.parse(consul.state.snapshot().kv.find((e) => e.key.endsWith(markerKey('', ss).slice(1)))?.value ?? '{}');
    assert.deepEqual([marker.runId, marker.listedAt, marker.lastReconcile?.runId, marker.lastReconcile?.instanceCount], ['quiet', 2_000, 'quiet', 3]);

    // A run that claimed and never finished leaves a fence that may still be valid: claim first.
    await registry.beginReconcile(ss, 3_000, { runId: 'crashed', claimFirst: true });
    const after = await registry.beginReconcile(ss, 4_000, { runId: 'after' });
    assert.ok(after.claimIndex !== undefined, 'claimed before reading');
  });

  test('a run that writes claims at the index it read, then writes; the changes are committed as planned', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`grow-${uniqueSuffix()}`);
    const first = await registry.beginReconcile(ss, 1_000);
    await first.apply(localPlan(ss, vms(2).map((vm) => desiredNode(ss, vm)), first));
    const grow = await registry.beginReconcile(ss, 2_000, { runId: 'grow' });
    assert.equal(grow.claimIndex, undefined);
    const result = await grow.apply(localPlan(ss, vms(4).map((vm) => desiredNode(ss, vm)), grow));
    assert.deepEqual([result.counts.registered, result.markerWrites, result.summaryWritten], [2, 2, true]);
    assert.ok(grow.claimIndex !== undefined && result.committedIndex > grow.claimIndex);
    assert.equal((await registry.listOwned()).length, 4);
  });

  for (const kind of ['nothing to write', 'something to write'] as const) {
    test(`${kind}: a claim that lands after the read (even from an older listing) makes the run write nothing and ask to claim first`, async (t) => {
      const consul = await startDouble(t);
      const ss = scaleSetId(`race-${uniqueSuffix()}`);
      const desired = vms(2).map((vm) => desiredNode(ss, vm));
      const registry = registryFor(t, consul.url, {
        hooks: {
          beforeStep: async (step, run) => {
            // Between the deferred run's read and its marker write, an older listing claims.
            if (run.runId === 'newer' && (step.kind === 'summary' || step.kind === 'claim')) await registry.beginReconcile(ss, 1_500, { runId: 'older', hooks: {}, claimFirst: true });
          },
        },
      });
      const first = await registry.beginReconcile(ss, 1_000, { runId: 'first' });
      await first.apply(localPlan(ss, desired, first));
      const before = consul.state.snapshot();

      const newer = await registry.beginReconcile(ss, 2_000, { runId: 'newer' });
      const wanted = kind === 'nothing to write' ? desired : vms(3).map((vm) => desiredNode(ss, vm));
      await assert.rejects(newer.apply(localPlan(ss, wanted, newer)), ClaimLostError);
      const after = consul.state.snapshot();
      assert.deepEqual(after.nodes, before.nodes, 'nothing written');
      assert.equal(JSON.parse(after.kv.find((e) => e.key.includes('/scale-sets/'))?.value ?? '{}').runId, 'older');

      // Claiming first, the newer listing fences the older run off and wins.
      const retry = await registry.beginReconcile(ss, 2_000, { runId: 'newer-2', claimFirst: true });
      assert.ok(retry.claimIndex !== undefined);
      await retry.apply(localPlan(ss, wanted, retry));
      assert.equal((await registry.listOwned()).length, wanted.length);
    });
  }
});

test('reconcileScaleSet: a lost deferred claim is retried claiming first, so the newer listing still wins over an older run', async (t) => {
  const consul = await startDouble(t);
  const ref = scaleSetRef('sub', 'rg', `api-${uniqueSuffix()}`);
  const scaleSet: MeshScaleSet = { ref, orchestrationMode: 'Uniform', capacity: 3, location: 'westeurope', tags: {}, services: [{ name: 'api', port: 9090, protocol: 'grpc' }] };
  const instance = (n: number): Instance => ({ name: `api_${n}`, instanceId: String(n), resourceId: `${ref.id}/virtualmachines/${n}`, privateIps: [`10.0.0.${n + 4}`], provisioningState: 'Succeeded', powerState: 'running' });
  const instances = [instance(0), instance(1)];
  const inventory: InventoryPort = {
    lookupScaleSet: async () => ({ state: 'in-mesh', scaleSet }),
    isListedInResourceGroup: async () => true,
    listInstances: async () => ({ status: 'complete', listedAt: Date.now(), instances }),
    confirmGone: async () => ({ gone: new Set<string>(), present: new Set<string>() }),
    scaleSetOfVm: async () => null,
    listMeshScaleSets: async () => ({ scaleSets: [scaleSet], skipped: [] }),
    measureCalls: async (work) => ({ result: await work(), calls: 0 }),
  };
  let raced = 0;
  let armed = false;
  let now = 1_000;
  const registry = registryFor(t, consul.url, {
    now: () => now,
    hooks: {
      beforeStep: async (step, run) => {
        if (armed && run.runId !== 'older' && step.kind === 'summary' && raced === 0) {
          raced += 1;
          // An older listing (one instance more) claims between the newer run's read and its summary.
          const older = await registry.beginReconcile(ref.id, now - 1, { runId: 'older', claimFirst: true, hooks: {} });
          await older.apply(localPlan(ref.id, [...older.actual, desiredNode(ref.id, { name: 'api_2', ip: '10.0.0.6', services: [{ name: 'api', port: 9090 }] })], older));
        }
      },
    },
  });
  const deps = { inventory, registry, publisher: noRelayPublisher, maxRemovalShare: 1, now: () => now };
  const first = await reconcileScaleSet(deps, ref, 'test');
  assert.equal(first.registered, 2);
  now = 5_000;
  armed = true;
  const second = await reconcileScaleSet(deps, ref, 'test');
  assert.equal(raced, 1, 'an older run claimed between the read of the second run and its summary');
  assert.equal(second.outcome, 'applied', 'retried with the claim first, it removed what the older run added');
  assert.deepEqual((await registry.listOwned()).map((n) => n.address).sort(), ['10.0.0.4', '10.0.0.5']);
});
