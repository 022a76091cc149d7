/**
 * A weight or retry tag change through the app's own reconcile (reconcile-scale-set.ts), as an
 * event or the timer runs it: an ordinary update of every registration of the scale set, the
 * changed service pushed to the relays, and what is pushed is what Consul then holds (scale set,
 * weight and policy included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMeshTags } from '../../src/shared/azure/mesh-tags';
import type { ServiceEndpointSet } from '../../src/shared/endpoints';
import type { Instance, MeshScaleSet } from '../../src/shared/model';
import type { InventoryPort } from '../../src/shared/reconcile/ports';
import { reconcileScaleSet } from '../../src/shared/reconcile/reconcile-scale-set';
import { scaleSetRef } from '../../src/shared/resource-id';
import { registryFor, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';
import { recordingPublisher } from '../helpers/reconcile-steps';

test('a weight tag change is an ordinary update, pushed as Consul then holds it', async (t) => {
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const ref = scaleSetRef('sub', 'rg', `orders-${uniqueSuffix()}`);
  const state = { tags: { 'vmss-mesh-service': 'orders', 'vmss-mesh-port': '9090', 'vmss-mesh-protocol': 'grpc', 'vmss-mesh-weight': '90' } as Record<string, string> };
  const scaleSet = (): MeshScaleSet => {
    const parsed = parseMeshTags(state.tags);
    assert.ok(parsed.ok);
    return { ref, orchestrationMode: 'Uniform', capacity: 2, location: 'westeurope', tags: state.tags, services: parsed.services };
  };
  const instances: Instance[] = [0, 1].map((n) => ({
    name: `${ref.name}_${n}`,
    instanceId: String(n),
    resourceId: `${ref.id}/virtualmachines/${n}`,
    privateIps: [`10.0.0.${n + 4}`],
    zone: '1',
    provisioningState: 'Succeeded',
    powerState: 'running',
  }));
  const inventory: InventoryPort = {
    lookupScaleSet: async () => ({ state: 'in-mesh', scaleSet: scaleSet() }),
    isListedInResourceGroup: async () => true,
    listInstances: async () => ({ status: 'complete', listedAt: Date.now(), instances }),
    confirmGone: async () => ({ gone: new Set<string>(), present: new Set<string>() }),
    scaleSetOfVm: async () => null,
    listMeshScaleSets: async () => ({ scaleSets: [scaleSet()], skipped: [] }),
    measureCalls: async (work) => ({ result: await work(), calls: 0 }),
  };
  const { publisher, pushed } = recordingPublisher();
  const deps = { inventory, registry, publisher, maxRemovalShare: 1 };
  await reconcileScaleSet(deps, ref, 'test');

  const check = async (weight: number | undefined, policy: ServiceEndpointSet['policy']) => {
    const report = await reconcileScaleSet(deps, ref, 'test');
    assert.deepEqual([report.registered, report.updated, report.deregistered, report.changedServices], [0, 2, 0, ['orders']]);
    const [set] = pushed.at(-1) ?? [];
    const [truth] = await registry.serviceEndpoints(['orders']);
    assert.ok(set && truth);
    assert.deepEqual({ ...set, consulIndex: 0 }, { ...truth, consulIndex: 0 }, 'the push is what Consul holds');
    assert.deepEqual(
      truth.endpoints.map((e) => [e.scaleSet, e.scaleSetWeight]),
      [
        [ref.id, weight],
        [ref.id, weight],
      ],
    );
    assert.deepEqual(truth.policy, policy);
  };
  state.tags = { ...state.tags, 'vmss-mesh-weight': '10' };
  await check(10, undefined);
  state.tags = { ...state.tags, 'vmss-mesh-retry-on': 'unavailable,5xx', 'vmss-mesh-retries': '2', 'vmss-mesh-timeout': '3s' };
  await check(10, { retryOn: ['unavailable', '5xx'], numRetries: 2, timeoutMs: 3000 });
  const { 'vmss-mesh-weight': _weight, ...noWeight } = state.tags;
  state.tags = noWeight;
  await check(undefined, { retryOn: ['unavailable', '5xx'], numRetries: 2, timeoutMs: 3000 });
  assert.equal((await reconcileScaleSet(deps, ref, 'test')).updated, 0, 'the same tags again: nothing to do');
});
