/**
 * How the registry reads foreign entries on its nodes and takes back a node it released
 * (plan-units.ts, owned-reader.ts), without a Consul: the pure parts only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planUnits } from '../../src/shared/consul/plan-units';
import type { UnitContext } from '../../src/shared/consul/plan-units';
import { splitNodeMeta, toOwnedNode } from '../../src/shared/consul/owned-reader';
import type { ReleasedNode } from '../../src/shared/consul/owned-reader';
import { AZURE_CHECK_ID, MAINTENANCE_CHECK_ID, NODE_META, SERVICE_TAG } from '../../src/shared/ownership';
import { desiredNode, scaleSetId } from '../helpers/consul-fixtures';

const SS = scaleSetId('released');
const vm = desiredNode(SS, { name: 'vm_0', ip: '10.0.0.4' });

function context(released: ReleasedNode[]): UnitContext {
  return {
    scaleSetId: SS,
    kvPrefix: 'p',
    actual: new Map(),
    tombstones: new Set(),
    expiredTombstones: [],
    liftedTombstones: [],
    released: new Map(released.map((n) => [n.node, n])),
    now: 1,
    listedAt: 1,
    runId: 'r',
  };
}

function nodeOpOf(released: ReleasedNode[]): unknown {
  const { units } = planUnits({ scaleSetId: SS, actions: [{ kind: 'register', desired: vm }], skipped: [] }, context(released));
  return units[0]?.ops.find((op) => 'Node' in op);
}

describe('registering over a released node', () => {
  test('the same instance takes it back at its ModifyIndex, keeping the meta that is not ours', () => {
    const op = nodeOpOf([{ node: vm.node, modifyIndex: 42, instanceResourceId: vm.instanceResourceId, foreignMeta: { 'owner-team': 'payments' } }]);
    assert.deepEqual(op, {
      Node: { Verb: 'cas', Node: { Node: vm.node, Address: vm.address, Meta: { 'owner-team': 'payments', ...vm.nodeMeta }, ModifyIndex: 42 } },
    });
  });

  test('a released node of another instance is not taken: create-only, which Consul refuses', () => {
    const op = nodeOpOf([{ node: vm.node, modifyIndex: 42, instanceResourceId: `${vm.instanceResourceId}-other`, foreignMeta: {} }]);
    assert.deepEqual(op, { Node: { Verb: 'cas', Node: { Node: vm.node, Address: vm.address, Meta: vm.nodeMeta, ModifyIndex: 0 } } });
  });
});

describe('reading a node with entries that are not ours', () => {
  const record = { Node: vm.node, Address: vm.address, Meta: { ...vm.nodeMeta, 'owner-team': 'payments' }, ModifyIndex: 7 };
  const service = (id: string, tags: string[]) => ({ Node: vm.node, ServiceID: id, ServiceName: id, ServiceTags: tags, ServiceAddress: '', ServicePort: 1, ServiceMeta: {}, NodeMeta: {} });
  const check = (id: string, serviceId = '') => ({ Node: vm.node, CheckID: id, Status: 'passing', Output: '', ServiceID: serviceId });

  test('only our tag, our node checks and our meta keys are ours; the rest is recorded as foreign', () => {
    const node = toOwnedNode(
      record,
      [service('web', [SERVICE_TAG]), service('legacy', ['x'])],
      [check(AZURE_CHECK_ID), check(MAINTENANCE_CHECK_ID), check('disk'), check('legacy-alive', 'legacy'), check('web-extra', 'web')],
    );
    assert.deepEqual(node.services.map((s) => s.id), ['web']);
    assert.deepEqual(node.nodeMeta, vm.nodeMeta);
    assert.equal(node.draining, true);
    assert.equal(node.azureCheck.status, 'passing');
    // A check someone put on one of our services goes with that service: it does not make the node shared.
    assert.deepEqual(node.foreign, { nodeMeta: { 'owner-team': 'payments' }, serviceIds: ['legacy'], checkIds: ['disk', 'legacy-alive'] });
  });

  test("consul-esm's externalNodeHealth node check is not foreign (a service check of that ID on a foreign service still is)", () => {
    const node = toOwnedNode({ ...record, Meta: vm.nodeMeta }, [service('web', [SERVICE_TAG])], [check(AZURE_CHECK_ID), check('externalNodeHealth')]);
    assert.equal('foreign' in node, false);
    const withForeign = toOwnedNode({ ...record, Meta: vm.nodeMeta }, [service('web', [SERVICE_TAG]), service('legacy', [])], [check('externalNodeHealth', 'legacy')]);
    assert.deepEqual(withForeign.foreign?.checkIds, ['externalNodeHealth']);
  });

  test('releasing a shared node marks it released by the run; deleting an unshared one does not', () => {
    const shared = toOwnedNode(record, [service('web', [SERVICE_TAG]), service('legacy', [])], [check(AZURE_CHECK_ID)]);
    const plain = toOwnedNode({ ...record, Meta: vm.nodeMeta }, [service('web', [SERVICE_TAG])], [check(AZURE_CHECK_ID), check('externalNodeHealth')]);
    const unitFor = (actual: typeof shared) =>
      planUnits(
        { scaleSetId: SS, actions: [{ kind: 'deregister', actual, because: 'out-of-scope' }], skipped: [] },
        { ...context([]), actual: new Map([[actual.node, actual]]), runId: 'run-7' },
      ).units[0];
    const nodeOp = unitFor(shared)?.ops[0] as { Node: { Verb: string; Node: { Meta: Record<string, string> } } };
    assert.equal(nodeOp.Node.Verb, 'cas');
    assert.equal(nodeOp.Node.Node.Meta[NODE_META.released], 'run-7');
    assert.equal(nodeOp.Node.Node.Meta[NODE_META.externalSource], undefined);
    assert.deepEqual(unitFor(plain)?.ops.map((op) => Object.keys(op)[0]), ['Node']);
    assert.equal((unitFor(plain)?.ops[0] as { Node: { Verb: string } }).Node.Verb, 'delete-cas');
  });

  test('a node with nothing foreign has no `foreign` field at all', () => {
    const node = toOwnedNode({ ...record, Meta: vm.nodeMeta }, [service('web', [SERVICE_TAG])], [check(AZURE_CHECK_ID)]);
    assert.equal('foreign' in node, false);
  });

  test('splitNodeMeta: NODE_META keys and the keys we are about to write are ours', () => {
    assert.deepEqual(splitNodeMeta({ [NODE_META.zone]: '1', extra: 'a', theirs: 'b' }, { extra: 'z' }), {
      ours: { [NODE_META.zone]: '1', extra: 'a' },
      foreign: { theirs: 'b' },
    });
  });
});
