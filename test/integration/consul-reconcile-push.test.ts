/**
 * The reconcile's push (reconcile-scale-set.ts): no Consul read and no push when no relay is
 * configured; with a relay, a change of a service this scale set alone carries is pushed as the
 * plan and the read made it, without reading Consul again, and what is pushed is what Consul holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noRelayPublisher } from '../../src/shared/endpoints';
import type { Instance, MeshScaleSet } from '../../src/shared/model';
import type { InventoryPort } from '../../src/shared/reconcile/ports';
import { reconcileScaleSet } from '../../src/shared/reconcile/reconcile-scale-set';
import { scaleSetRef } from '../../src/shared/resource-id';
import { registryFor, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';
import { recordingPublisher } from '../helpers/reconcile-steps';

function world(name: string) {
  const ref = scaleSetRef('sub', 'rg', name);
  const scaleSet: MeshScaleSet = { ref, orchestrationMode: 'Uniform', capacity: 3, location: 'westeurope', tags: {}, services: [{ name: 'api', port: 9090, protocol: 'grpc' }] };
  const instance = (n: number): Instance => ({ name: `${name}_${n}`, instanceId: String(n), resourceId: `${ref.id}/virtualmachines/${n}`, privateIps: [`10.0.0.${n + 4}`], zone: String((n % 3) + 1), provisioningState: 'Succeeded', powerState: 'running' });
  const state = { instances: [instance(0)] };
  const inventory: InventoryPort = {
    lookupScaleSet: async () => ({ state: 'in-mesh', scaleSet }),
    isListedInResourceGroup: async () => true,
    listInstances: async () => ({ status: 'complete', listedAt: Date.now(), instances: state.instances }),
    confirmGone: async () => ({ gone: new Set<string>(), present: new Set<string>() }),
    scaleSetOfVm: async () => null,
    listMeshScaleSets: async () => ({ scaleSets: [scaleSet], skipped: [] }),
    measureCalls: async (work) => ({ result: await work(), calls: 0 }),
  };
  return { ref, state, instance, inventory };
}

test('no relay configured: the reconcile neither reads endpoints nor pushes', async (t) => {
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const w = world(`api-${uniqueSuffix()}`);
  const deps = { inventory: w.inventory, registry, publisher: noRelayPublisher, maxRemovalShare: 1 };
  await reconcileScaleSet(deps, w.ref, 'test');
  w.state.instances = [w.instance(0), w.instance(1)];
  consul.state.clearRequests();
  const report = await reconcileScaleSet(deps, w.ref, 'test');
  assert.deepEqual([report.registered, report.changedServices, report.pushes], [1, ['api'], []]);
  assert.deepEqual(consul.state.requests.filter((r) => r.path.startsWith('/v1/health/service/')), []);
});

test('a relay configured: a scale-out is pushed without reading Consul again, and the push is what Consul holds', async (t) => {
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const w = world(`api-${uniqueSuffix()}`);
  const { publisher, pushed } = recordingPublisher();
  const deps = { inventory: w.inventory, registry, publisher, maxRemovalShare: 1 };
  await reconcileScaleSet(deps, w.ref, 'test'); // the first instances of the service: read, as the run cannot vouch for other scale sets
  w.state.instances = [w.instance(0), w.instance(1)];
  consul.state.clearRequests();
  const report = await reconcileScaleSet(deps, w.ref, 'test');
  assert.equal(report.registered, 1);
  assert.deepEqual(consul.state.requests.filter((r) => r.path.startsWith('/v1/health/service/')), [], 'no read after the commit');
  const [set] = pushed.at(-1) ?? [];
  const [truth] = await registry.serviceEndpoints(['api']);
  assert.ok(set && truth);
  assert.deepEqual({ ...set, consulIndex: 0 }, { ...truth, consulIndex: 0 });
  assert.equal(set.consulIndex, truth.consulIndex, 'the index Consul reports for the service');
  assert.deepEqual(set.endpoints.map((e) => [e.address, e.zone, e.health]), [['10.0.0.4', '1', 'passing'], ['10.0.0.5', '2', 'passing']]);
});
