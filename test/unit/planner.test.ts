import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../src/shared/errors';
import type { Instance, MeshScaleSet, MeshServiceSpec, OwnedNode, PlanAction, ReconcilePlan } from '../../src/shared/model';
import { NODE_META, nodeNameFor } from '../../src/shared/ownership';
import { planReconcile, type PlanInput } from '../../src/shared/planner/plan';
import { SKIP, WHOLE_SCALE_SET, skipCode } from '../../src/shared/planner/skip-reasons';
import { ownedNodesFor } from '../helpers/arbitraries';

const SCALE_SET_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-mesh/providers/microsoft.compute/virtualmachinescalesets/web';
const OTHER_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-mesh/providers/microsoft.compute/virtualmachinescalesets/other';
const WEB: MeshServiceSpec = { name: 'web', port: 8080, protocol: 'http' };
const ECHO: MeshServiceSpec = { name: 'echo', port: 50051, protocol: 'grpc' };

function scaleSetWith(services: MeshServiceSpec[], capacity = 3, id = SCALE_SET_ID): MeshScaleSet {
  return {
    ref: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-mesh', name: id.split('/').pop()!, id },
    orchestrationMode: 'Uniform',
    capacity,
    location: 'westeurope',
    tags: {},
    services,
  };
}

function vm(index: number, overrides: Partial<Instance> = {}, scaleSetId = SCALE_SET_ID): Instance {
  return {
    name: `${scaleSetId.split('/').pop()}_${index}`,
    instanceId: String(index),
    resourceId: `${scaleSetId}/virtualmachines/${index}`,
    privateIps: [`10.0.0.${10 + index}`],
    zone: '1',
    provisioningState: 'Succeeded',
    powerState: 'running',
    healthState: 'Healthy',
    ...overrides,
  };
}

const nameOf = (instance: Instance): string => nodeNameFor(instance.name, instance.resourceId);

/** What a previous reconcile of `instances` left in Consul. */
function registered(instances: Instance[], services: MeshServiceSpec[] = [WEB]): OwnedNode[] {
  return ownedNodesFor(scaleSetWith(services), instances);
}

function inMesh(instances: Instance[], actual: OwnedNode[], overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    scaleSetId: SCALE_SET_ID,
    scaleSetState: 'in-mesh',
    scaleSet: scaleSetWith([WEB], Math.max(instances.length, 1)),
    listing: { status: 'complete', listedAt: 1, instances },
    actual,
    tombstones: new Set(),
    confirmedGone: new Set(),
    maxRemovalShare: 0.5,
    ...overrides,
  };
}

/** `kind node [because|changes]` per action: short to compare, still exact. */
function summary(plan: ReconcilePlan): string[] {
  return plan.actions.map((a: PlanAction) => {
    if (a.kind === 'register') return `register ${a.desired.node}`;
    if (a.kind === 'update') return `update ${a.actual.node} ${a.changes.join(',')}`;
    return `deregister ${a.actual.node} ${a.because}`;
  });
}

const codes = (plan: ReconcilePlan): string[] => plan.skipped.map((s) => `${s.node} ${skipCode(s)}`);

describe('planReconcile: registrations', () => {
  test('registers desired nodes absent from Consul', () => {
    const plan = planReconcile(inMesh([vm(1), vm(2)], []));
    assert.deepEqual(summary(plan), [`register ${nameOf(vm(1))}`, `register ${nameOf(vm(2))}`].sort());
    const registeredNode = plan.actions[0]?.kind === 'register' ? plan.actions[0].desired : undefined;
    assert.equal(registeredNode?.services[0]?.name, 'web');
    assert.equal(plan.scaleSetId, SCALE_SET_ID);
  });

  test('never registers a tombstoned node, and says so', () => {
    const plan = planReconcile(inMesh([vm(1), vm(2)], [], { tombstones: new Set([nameOf(vm(1))]) }));
    assert.deepEqual(summary(plan), [`register ${nameOf(vm(2))}`]);
    assert.deepEqual(codes(plan), [`${nameOf(vm(1))} ${SKIP.tombstoned}`]);
  });

  test('does not register an instance that is already being deleted', () => {
    const plan = planReconcile(inMesh([vm(1, { provisioningState: 'Deleting' })], []));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(codes(plan), [`${nameOf(vm(1))} ${SKIP.deleting}`]);
  });

  test('registers critical instances too (make before break: endpoints exist before they are healthy)', () => {
    const plan = planReconcile(inMesh([vm(1, { provisioningState: 'Creating', powerState: 'starting' })], []));
    assert.deepEqual(summary(plan), [`register ${nameOf(vm(1))}`]);
    assert.equal(plan.actions[0]?.kind === 'register' && plan.actions[0].desired.azureCheck.status, 'critical');
  });

  test('does not register over a node name held by a node that is not ours for this scale set', () => {
    const foreign: OwnedNode = { ...registered([vm(1)])[0]!, nodeMeta: { 'external-source': 'someone-else' } };
    const plan = planReconcile(inMesh([vm(1)], [foreign]));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(codes(plan), [`${nameOf(vm(1))} ${SKIP.nameTaken}`, `${nameOf(vm(1))} ${SKIP.notOwned}`]);
  });

  test('a listed instance ARM has since confirmed gone is not registered', () => {
    const plan = planReconcile(inMesh([vm(1)], [], { confirmedGone: new Set([vm(1).resourceId.toUpperCase()]) }));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(codes(plan), [`${nameOf(vm(1))} ${SKIP.confirmedGone}`]);
  });
});

describe('planReconcile: updates', () => {
  test('plans nothing when Consul already matches (idempotence)', () => {
    const instances = [vm(1), vm(2, { healthState: 'Unhealthy' })];
    const plan = planReconcile(inMesh(instances, registered(instances)));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.skipped, []);
  });

  test('an address change is an update naming the address', () => {
    const plan = planReconcile(inMesh([vm(1, { privateIps: ['10.1.1.1'] })], registered([vm(1)])));
    assert.deepEqual(summary(plan), [`update ${nameOf(vm(1))} address`]);
    const update = plan.actions[0];
    assert.equal(update?.kind === 'update' && update.desired.address, '10.1.1.1');
    assert.equal(update?.kind === 'update' && update.actual.address, '10.0.0.11');
  });

  test('a health change updates check status and output', () => {
    const plan = planReconcile(inMesh([vm(1, { healthState: 'Unhealthy' })], registered([vm(1)])));
    assert.deepEqual(summary(plan), [`update ${nameOf(vm(1))} check-status,check-output`]);
  });

  test('an instance going Deleting is updated to draining, not removed', () => {
    const plan = planReconcile(inMesh([vm(1, { provisioningState: 'Deleting' })], registered([vm(1)])));
    assert.deepEqual(summary(plan), [`update ${nameOf(vm(1))} check-output,draining`]);
  });

  test('a zone change touches node meta and service meta', () => {
    const plan = planReconcile(inMesh([vm(1, { zone: '3' })], registered([vm(1)])));
    assert.deepEqual(summary(plan), [`update ${nameOf(vm(1))} node-meta,service-changed:web:meta`]);
  });

  test('a service added to the scale set tags is added to every node', () => {
    const plan = planReconcile(inMesh([vm(1)], registered([vm(1)]), { scaleSet: scaleSetWith([WEB, ECHO]) }));
    assert.deepEqual(summary(plan), [`update ${nameOf(vm(1))} service-added:echo`]);
  });

  test('a service removed from the tags while another remains is removed from the node by an update', () => {
    const plan = planReconcile(inMesh([vm(1)], registered([vm(1)], [WEB, ECHO])));
    assert.deepEqual(summary(plan), [`update ${nameOf(vm(1))} service-removed:echo`]);
  });

  test('a port or protocol change names the changed parts of the service', () => {
    const plan = planReconcile(inMesh([vm(1)], registered([vm(1)], [{ ...WEB, port: 9090, protocol: 'grpc' }])));
    assert.deepEqual(summary(plan), [`update ${nameOf(vm(1))} service-changed:web:port,service-changed:web:tags,service-changed:web:meta`]);
  });

  test('tags in another order are not a change', () => {
    const [node] = registered([vm(1)]);
    const reordered: OwnedNode = { ...node!, services: node!.services.map((s) => ({ ...s, tags: [...s.tags].reverse() })) };
    assert.deepEqual(planReconcile(inMesh([vm(1)], [reordered])).actions, []);
  });
});

describe('planReconcile: deregistrations', () => {
  test('an instance absent from a complete listing is deregistered as gone', () => {
    const plan = planReconcile(inMesh([vm(1), vm(2), vm(3)], registered([vm(1), vm(2), vm(3), vm(4)])));
    assert.deepEqual(summary(plan), [`deregister ${nameOf(vm(4))} gone`]);
  });

  test('scale set not found: every node is deregistered as gone, whatever the cap', () => {
    const actual = registered([vm(1), vm(2), vm(3)]);
    const plan = planReconcile({ ...inMesh([], actual), scaleSetState: 'not-found', scaleSet: undefined, maxRemovalShare: 0.1 });
    assert.deepEqual(summary(plan), actual.map((n) => `deregister ${n.node} gone`).sort());
    assert.deepEqual(plan.skipped, []);
  });

  test('scale set left the mesh: every node is deregistered as out-of-scope, uncapped', () => {
    const actual = registered([vm(1), vm(2), vm(3)]);
    const plan = planReconcile({ ...inMesh([vm(1), vm(2), vm(3)], actual), scaleSetState: 'left-mesh', scaleSet: undefined, maxRemovalShare: 0.1 });
    assert.deepEqual(summary(plan), actual.map((n) => `deregister ${n.node} out-of-scope`).sort());
  });

  test('all services vanished from the tags: listed nodes are out-of-scope', () => {
    const instances = [vm(1), vm(2)];
    const plan = planReconcile(inMesh(instances, registered(instances), { scaleSet: scaleSetWith([]), maxRemovalShare: 0.1 }));
    assert.deepEqual(summary(plan), instances.map((i) => `deregister ${nameOf(i)} out-of-scope`).sort());
    assert.deepEqual(codes(plan), [`${WHOLE_SCALE_SET} ${SKIP.noMeshServices}`]);
  });

  test('an instance that lost its private IP keeps its node (missing data is no reason to remove)', () => {
    const plan = planReconcile(inMesh([vm(1, { privateIps: [] })], registered([vm(1)])));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(codes(plan), [`${nameOf(vm(1))} ${SKIP.noPrivateIp}`]);
  });

  test('an instance listed twice with conflicting content keeps its node', () => {
    const plan = planReconcile(inMesh([vm(1), vm(1, { powerState: 'stopped' })], registered([vm(1)])));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(codes(plan), [`${nameOf(vm(1))} ${SKIP.conflictingListing}`]);
  });

  test('a listed instance ARM has since confirmed gone is deregistered (the 404 is newer)', () => {
    const plan = planReconcile(inMesh([vm(1), vm(2)], registered([vm(1), vm(2)]), { confirmedGone: new Set([vm(2).resourceId]) }));
    assert.deepEqual(summary(plan), [`deregister ${nameOf(vm(2))} gone`]);
    assert.deepEqual(plan.skipped, []);
  });

  test('a scale-in to zero (capacity 0, empty listing) is believed; confirmed or draining nodes go at once', () => {
    const actual = registered([vm(1, { provisioningState: 'Deleting' }), vm(2)]);
    const plan = planReconcile(inMesh([], actual, { scaleSet: scaleSetWith([WEB], 0), confirmedGone: new Set([vm(2).resourceId]) }));
    assert.deepEqual(summary(plan), [`deregister ${nameOf(vm(1))} gone`, `deregister ${nameOf(vm(2))} gone`].sort());
  });
});

describe('planReconcile: unknown is not empty', () => {
  const actual = registered([vm(1), vm(2)]);

  test('an unknown listing plans nothing and says why', () => {
    const plan = planReconcile(inMesh([], actual, { listing: { status: 'unknown', listedAt: 1, reason: 'ARM throttled (429)' } }));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.skipped, [{ node: WHOLE_SCALE_SET, reason: 'listing-unknown: ARM throttled (429); nothing planned' }]);
  });

  test('an unknown scale set state plans nothing, even with a complete listing', () => {
    const plan = planReconcile({ ...inMesh([vm(3)], actual), scaleSetState: 'unknown' });
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.skipped, [{ node: WHOLE_SCALE_SET, reason: `scale-set-unknown: could not tell whether ${SCALE_SET_ID} is in the mesh; nothing planned` }]);
  });

  test('a complete but empty listing while capacity > 0 is treated as unknown', () => {
    const plan = planReconcile(inMesh([], actual, { scaleSet: scaleSetWith([WEB], 2) }));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.skipped, [{ node: WHOLE_SCALE_SET, reason: 'listing-suspiciously-empty: ARM listed no instance while capacity is 2; treated as unknown' }]);
  });
});

describe('planReconcile: removal cap', () => {
  const four = [vm(1), vm(2), vm(3), vm(4)];

  test('at most floor(share × registered) unconfirmed removals per service; the rest are skipped as removal-cap', () => {
    const plan = planReconcile(inMesh([vm(1)], registered(four), { maxRemovalShare: 0.5 }));
    // Three gone, floor(0.5 × 4) = 2 allowed, taken in node-name order.
    const [firstGone, secondGone, thirdGone] = [vm(2), vm(3), vm(4)].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
    assert.deepEqual(summary(plan), [`deregister ${nameOf(firstGone!)} gone`, `deregister ${nameOf(secondGone!)} gone`]);
    assert.deepEqual(plan.skipped, [
      {
        node: nameOf(thirdGone!),
        reason: `removal-cap: service web may lose at most 2 of 4 registered instances unconfirmed this run (maxRemovalShare 0.5); confirm ${thirdGone!.resourceId} with ARM`,
      },
    ]);
  });

  test('capped removals go through once the caller confirms them with ARM', () => {
    const first = planReconcile(inMesh([vm(1)], registered(four), { maxRemovalShare: 0.5 }));
    const cappedNodes = new Set(first.skipped.filter((s) => skipCode(s) === SKIP.removalCap).map((s) => s.node));
    const confirmed = registered(four).filter((n) => cappedNodes.has(n.node)).map((n) => n.instanceResourceId);
    const second = planReconcile(inMesh([vm(1)], registered(four), { maxRemovalShare: 0.5, confirmedGone: new Set(confirmed) }));
    assert.deepEqual(summary(second), [vm(2), vm(3), vm(4)].map((i) => `deregister ${nameOf(i)} gone`).sort());
    assert.deepEqual(second.skipped, []);
  });

  test('a service with a single registered instance never loses it unconfirmed', () => {
    const plan = planReconcile(inMesh([], registered([vm(1)]), { scaleSet: scaleSetWith([WEB], 0), maxRemovalShare: 0.99 }));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(codes(plan), [`${nameOf(vm(1))} ${SKIP.removalCap}`]);
  });

  test('share 1 allows every unconfirmed removal', () => {
    const plan = planReconcile(inMesh([vm(1)], registered(four), { maxRemovalShare: 1 }));
    assert.equal(plan.actions.length, 3);
  });

  test('draining and confirmed-gone removals do not count against the cap', () => {
    const actual = registered([vm(1), vm(2, { provisioningState: 'Deleting' }), vm(3), vm(4)]);
    const plan = planReconcile(inMesh([vm(1)], actual, { maxRemovalShare: 0.25, confirmedGone: new Set([vm(3).resourceId]) }));
    // Budget floor(0.25 × 4) = 1 goes to vm 4; vm 2 (draining) and vm 3 (confirmed) are free.
    assert.deepEqual(summary(plan), [vm(2), vm(3), vm(4)].map((i) => `deregister ${nameOf(i)} gone`).sort());
    assert.deepEqual(plan.skipped, []);
  });

  test('the cap is counted per mesh service', () => {
    const webOnly = registered([vm(1), vm(2)], [WEB]);
    const echoOnly = registered([vm(3), vm(4)], [ECHO]);
    const plan = planReconcile(inMesh([vm(1), vm(3)], [...webOnly, ...echoOnly], { scaleSet: scaleSetWith([WEB, ECHO], 2), maxRemovalShare: 0.5 }));
    const removed = plan.actions.filter((a) => a.kind === 'deregister').map((a) => (a.kind === 'deregister' ? a.actual.node : ''));
    assert.deepEqual(removed, [nameOf(vm(2)), nameOf(vm(4))].sort());
  });
});

describe('planReconcile: scope, order and input checks', () => {
  test('nodes of another scale set and nodes without our marks are never touched', () => {
    const other = ownedNodesFor(scaleSetWith([WEB], 1, OTHER_ID), [vm(1, {}, OTHER_ID)]);
    const unowned: OwnedNode = { ...registered([vm(9)])[0]!, nodeMeta: { [NODE_META.scaleSetId]: SCALE_SET_ID } };
    const plan = planReconcile(inMesh([vm(1)], [...other, unowned], { maxRemovalShare: 1 }));
    assert.deepEqual(summary(plan), [`register ${nameOf(vm(1))}`]);
    assert.deepEqual(codes(plan), [`${other[0]!.node} ${SKIP.otherScaleSet}`, `${unowned.node} ${SKIP.notOwned}`].sort());
  });

  test('scale set not-found leaves other scale sets alone', () => {
    const other = ownedNodesFor(scaleSetWith([WEB], 1, OTHER_ID), [vm(1, {}, OTHER_ID)]);
    const plan = planReconcile({ ...inMesh([], [...registered([vm(1)]), ...other]), scaleSetState: 'not-found', scaleSet: undefined });
    assert.deepEqual(summary(plan), [`deregister ${nameOf(vm(1))} gone`]);
  });

  test('registers come first, then updates, then deregisters (make before break)', () => {
    const plan = planReconcile(inMesh([vm(1, { privateIps: ['10.9.9.9'] }), vm(5)], registered([vm(1), vm(2)]), { maxRemovalShare: 1 }));
    assert.deepEqual(plan.actions.map((a) => a.kind), ['register', 'update', 'deregister']);
  });

  test('the plan does not depend on the order of instances or nodes', () => {
    const instances = [vm(1), vm(2, { healthState: 'Unknown' }), vm(3), vm(6)];
    const actual = registered([vm(1), vm(2), vm(4), vm(5), vm(7)]);
    const a = planReconcile(inMesh(instances, actual));
    const b = planReconcile(inMesh([...instances].reverse(), [...actual].reverse()));
    assert.deepEqual(a, b);
  });

  for (const share of [0, -0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`maxRemovalShare ${share} is rejected as invalid input`, () => {
      assert.throws(() => planReconcile(inMesh([], [], { maxRemovalShare: share })), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.equal(error.message, `maxRemovalShare: must be a number with 0 < x ≤ 1, got ${share}`);
        return true;
      });
    });
  }

  test('in-mesh without the scale set is rejected', () => {
    assert.throws(
      () => planReconcile(inMesh([], [], { scaleSet: undefined })),
      (error: unknown) => error instanceof InvalidInputError && error.message === 'scaleSet: is required when scaleSetState is in-mesh',
    );
  });

  test('a scale set that is not the one named is rejected', () => {
    assert.throws(
      () => planReconcile(inMesh([], [], { scaleSet: scaleSetWith([WEB], 1, OTHER_ID) })),
      (error: unknown) => error instanceof InvalidInputError && error.message === `scaleSet.ref.id: names ${OTHER_ID}, not ${SCALE_SET_ID}`,
    );
  });

  test('the same node twice in actual is rejected', () => {
    const [node] = registered([vm(1)]);
    assert.throws(
      () => planReconcile(inMesh([vm(1)], [node!, { ...node!, nodeModifyIndex: 9 }])),
      (error: unknown) => error instanceof InvalidInputError && error.message === `actual: node ${node!.node} appears more than once`,
    );
  });
});
