/**
 * A scale set's weight and route policy ride on its registrations' service meta: a tag change is
 * an ordinary update (what a scale-out goes through too), registrations written before weights
 * existed stay as they are, and the endpoint sets read back from Consul know each endpoint's scale
 * set, its weight and the service's policy.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthServiceEntry } from '../../src/shared/consul/wire';
import { endpointSetFrom, scaleSetFields } from '../../src/shared/consul/endpoint-sets';
import type { Instance, MeshScaleSet, MeshServiceSpec, OwnedNode } from '../../src/shared/model';
import { AZURE_CHECK_ID, NODE_META, SERVICE_META } from '../../src/shared/ownership';
import { desiredNodes } from '../../src/shared/planner/desired-state';
import { planReconcile } from '../../src/shared/planner/plan';

const BLUE = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/orders-blue';
const GREEN = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/orders-green';
const ORDERS: MeshServiceSpec = { name: 'orders', port: 50051, protocol: 'grpc' };

function scaleSet(id: string, services: MeshServiceSpec[]): MeshScaleSet {
  return { ref: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg', name: id.split('/').pop()!, id }, orchestrationMode: 'Uniform', capacity: 2, location: 'westeurope', tags: {}, services };
}

function vm(id: string, n: number): Instance {
  return { name: `${id.split('/').pop()}_${n}`, instanceId: String(n), resourceId: `${id}/virtualmachines/${n}`, privateIps: [`10.0.${id.endsWith('blue') ? 1 : 2}.${n}`], zone: '1', provisioningState: 'Succeeded', powerState: 'running' };
}

function owned(set: MeshScaleSet, instances: Instance[]): OwnedNode[] {
  return desiredNodes(set, instances).nodes.map((n, i) => ({ ...n, nodeModifyIndex: 10 + i }));
}

function plan(set: MeshScaleSet, instances: Instance[], actual: OwnedNode[]) {
  return planReconcile({
    scaleSetId: set.ref.id,
    scaleSetState: 'in-mesh',
    scaleSet: set,
    listing: { status: 'complete', listedAt: 1, instances },
    actual,
    tombstones: new Set(),
    confirmedGone: new Set(),
    maxRemovalShare: 0.5,
  });
}

describe('desired state and plan', () => {
  test('weight and policy become service meta; without them the meta is what it always was', () => {
    const plain = desiredNodes(scaleSet(BLUE, [ORDERS]), [vm(BLUE, 1)]).nodes[0]!.services[0]!.meta;
    assert.deepEqual(Object.keys(plain).sort(), ['vmss-mesh-instance', 'vmss-mesh-instance-name', 'vmss-mesh-protocol', 'vmss-mesh-scale-set', 'vmss-mesh-zone']);
    const tagged = desiredNodes(scaleSet(BLUE, [{ ...ORDERS, weight: 0, policy: { retryOn: ['unavailable', 'reset'], numRetries: 2, timeoutMs: 1500 } }]), [vm(BLUE, 1)]).nodes[0]!.services[0]!.meta;
    assert.deepEqual({ ...tagged }, {
      ...plain,
      'vmss-mesh-weight': '0',
      'vmss-mesh-retry-on': 'unavailable,reset',
      'vmss-mesh-retries': '2',
      'vmss-mesh-timeout-ms': '1500',
    });
  });

  test('changing the weight tag is an ordinary update of every node of the scale set, and only a meta change', () => {
    const instances = [vm(BLUE, 1), vm(BLUE, 2)];
    const before = owned(scaleSet(BLUE, [{ ...ORDERS, weight: 90 }]), instances);
    const after = plan(scaleSet(BLUE, [{ ...ORDERS, weight: 10 }]), instances, before);
    assert.deepEqual(
      after.actions.map((a) => [a.kind, a.kind === 'update' ? a.changes : []]),
      [
        ['update', ['service-changed:orders:meta']],
        ['update', ['service-changed:orders:meta']],
      ],
    );
    assert.equal(plan(scaleSet(BLUE, [{ ...ORDERS, weight: 90 }]), instances, before).actions.length, 0, 'the same tags plan nothing');
  });

  test('registrations written before weights existed need no update while the scale set has no traffic tags', () => {
    const instances = [vm(BLUE, 1)];
    assert.equal(plan(scaleSet(BLUE, [ORDERS]), instances, owned(scaleSet(BLUE, [ORDERS]), instances)).actions.length, 0);
    const tagged = plan(scaleSet(BLUE, [{ ...ORDERS, policy: { retryOn: [], timeoutMs: 100 } }]), instances, owned(scaleSet(BLUE, [ORDERS]), instances));
    assert.deepEqual(tagged.actions.map((a) => a.kind), ['update']);
  });
});

function entry(set: MeshScaleSet, n: number, status = 'passing'): HealthServiceEntry {
  const node = desiredNodes(set, [vm(set.ref.id, n)]).nodes[0]!;
  const service = node.services[0]!;
  return {
    Node: { Node: node.node, Address: node.address, Meta: { ...node.nodeMeta } },
    Service: { ID: service.id, Service: service.name, Tags: [...service.tags], Address: '', Port: service.port, Meta: { ...service.meta }, Weights: { Passing: 1, Warning: 1 } },
    Checks: [{ Node: node.node, CheckID: AZURE_CHECK_ID, Status: status, Output: '', ServiceID: '' }],
  };
}

describe('endpoint sets from Consul', () => {
  test('each endpoint knows its scale set and its weight; the service its policy (the heaviest scale set decides)', () => {
    const blue = scaleSet(BLUE, [{ ...ORDERS, weight: 90, policy: { retryOn: ['unavailable'], numRetries: 3 } }]);
    const green = scaleSet(GREEN, [{ ...ORDERS, weight: 10, policy: { retryOn: [], timeoutMs: 2000 } }]);
    const set = endpointSetFrom('orders', 42, [entry(green, 1), entry(blue, 1), entry(blue, 2)]);
    assert.deepEqual(
      set.endpoints.map((e) => [e.instanceName, e.scaleSet, e.scaleSetWeight]),
      [
        ['orders-blue_1', BLUE, 90],
        ['orders-blue_2', BLUE, 90],
        ['orders-green_1', GREEN, 10],
      ],
    );
    assert.deepEqual(set.policy, { retryOn: ['unavailable'], numRetries: 3 });
    const shifted = endpointSetFrom('orders', 43, [entry(scaleSet(GREEN, [{ ...ORDERS, weight: 100, policy: { retryOn: [], timeoutMs: 2000 } }]), 1), entry(blue, 1)]);
    assert.deepEqual(shifted.policy, { retryOn: [], timeoutMs: 2000 }, 'the policy follows the traffic');
  });

  test('the scale set ID is lower-cased, from service meta or (older registrations) node meta', () => {
    assert.deepEqual(scaleSetFields({ [SERVICE_META.scaleSetId]: BLUE.toUpperCase() }, {}), { scaleSet: BLUE });
    assert.deepEqual(scaleSetFields({}, { [NODE_META.scaleSetId]: GREEN.toUpperCase() }), { scaleSet: GREEN });
    assert.deepEqual(scaleSetFields({}, {}), {});
  });

  test('older registrations (no traffic meta): scale set known, no weight, no policy', () => {
    const old = entry(scaleSet(BLUE, [ORDERS]), 1);
    const set = endpointSetFrom('orders', 7, [old]);
    assert.equal(set.endpoints[0]?.scaleSet, BLUE);
    assert.equal('scaleSetWeight' in (set.endpoints[0] ?? {}), false);
    assert.equal('policy' in set, false);
  });
});
