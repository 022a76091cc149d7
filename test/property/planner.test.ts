import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DesiredNode, OwnedNode, ReconcilePlan } from '../../src/shared/model';
import { NODE_META } from '../../src/shared/ownership';
import { desiredNodes, nodeNameOf } from '../../src/shared/planner/desired-state';
import { planReconcile, type PlanInput } from '../../src/shared/planner/plan';
import { SKIP, skipCode } from '../../src/shared/planner/skip-reasons';
import { plannerWorldArb, type PlannerWorld } from '../helpers/arbitraries';

const RUNS = { numRuns: 300 };

function inputFor(world: PlannerWorld, overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    scaleSetId: world.scaleSet.ref.id,
    scaleSetState: 'in-mesh',
    scaleSet: world.scaleSet,
    listing: { status: 'complete', listedAt: 1, instances: world.listing },
    actual: [...world.actual, ...world.foreign],
    tombstones: new Set(world.tombstones),
    confirmedGone: new Set(world.confirmedGone),
    maxRemovalShare: world.maxRemovalShare,
    ...overrides,
  };
}

/** A tiny applier: what Consul would hold after the plan committed. */
function applied(actual: readonly OwnedNode[], plan: ReconcilePlan): OwnedNode[] {
  const byName = new Map(actual.map((n) => [n.node, n]));
  for (const action of plan.actions) {
    if (action.kind === 'deregister') {
      assert.ok(byName.delete(action.actual.node), `deregistered ${action.actual.node}, which Consul does not hold`);
    } else {
      const before = byName.get(action.desired.node);
      assert.equal(before === undefined, action.kind === 'register', `${action.kind} of ${action.desired.node}`);
      byName.set(action.desired.node, { ...action.desired, nodeModifyIndex: (before?.nodeModifyIndex ?? 0) + 1 });
    }
  }
  return [...byName.values()];
}

const isThisScaleSet = (world: PlannerWorld) => (node: DesiredNode): boolean => node.nodeMeta[NODE_META.scaleSetId] === world.scaleSet.ref.id;

describe('planReconcile properties', () => {
  test('idempotence: apply the plan, plan again → nothing to do (no cap in the way)', () => {
    fc.assert(
      fc.property(plannerWorldArb({ maxRemovalShare: fc.constant(1) }), (world) => {
        const first = planReconcile(inputFor(world));
        const after = applied(inputFor(world).actual, first);
        const second = planReconcile(inputFor(world, { actual: after }));
        assert.deepEqual(second.actions, []);
      }),
      RUNS,
    );
  });

  test('convergence: after applying, every node Consul holds for a listed instance is exactly its desired state', () => {
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        const after = new Map(applied(inputFor(world).actual, planReconcile(inputFor(world))).map((n) => [n.node, n]));
        const confirmed = new Set(world.confirmedGone);
        const live = world.listing.filter((i) => !confirmed.has(i.resourceId));
        const notOurs = new Set(world.foreign.map((n) => n.node));
        for (const desired of desiredNodes(world.scaleSet, live).nodes) {
          const held = after.get(desired.node);
          // Not registered (tombstoned, deleting) or the name belongs to somebody else: other properties cover those.
          if (!held || notOurs.has(desired.node)) continue;
          const { nodeModifyIndex: _index, ...content } = held;
          assert.deepEqual(content, desired);
        }
      }),
      RUNS,
    );
  });

  test('with the cap in the way, planning again only finishes removals the cap held back', () => {
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        const first = planReconcile(inputFor(world));
        const held = new Set(first.skipped.filter((s) => skipCode(s) === SKIP.removalCap).map((s) => s.node));
        const second = planReconcile(inputFor(world, { actual: applied(inputFor(world).actual, first) }));
        for (const action of second.actions) {
          assert.equal(action.kind, 'deregister');
          assert.ok(action.kind === 'deregister' && held.has(action.actual.node), `unexpected second-round ${action.kind}`);
        }
      }),
      RUNS,
    );
  });

  test('unknown never deregisters (nor does anything else)', () => {
    const unknownInputs = (world: PlannerWorld): PlanInput[] => [
      inputFor(world, { listing: { status: 'unknown', listedAt: 1, reason: 'ARM throttled' } }),
      inputFor(world, { scaleSetState: 'unknown' }),
      inputFor(world, { scaleSetState: 'unknown', scaleSet: undefined }),
      inputFor(world, { scaleSet: { ...world.scaleSet, capacity: Math.max(1, world.scaleSet.capacity) }, listing: { status: 'complete', listedAt: 1, instances: [] } }),
    ];
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        for (const input of unknownInputs(world)) {
          const plan = planReconcile(input);
          assert.deepEqual(plan.actions, []);
          assert.ok(plan.skipped.length > 0, 'an empty plan from unknown data must say why');
        }
      }),
      RUNS,
    );
  });

  test('unconfirmed removals never exceed maxRemovalShare of a service’s registered instances', () => {
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        const confirmed = new Set(world.confirmedGone);
        const plan = planReconcile(inputFor(world));
        const registered = new Map<string, number>();
        const removed = new Map<string, number>();
        for (const node of world.actual) for (const s of node.services) registered.set(s.name, (registered.get(s.name) ?? 0) + 1);
        for (const action of plan.actions) {
          if (action.kind !== 'deregister' || action.because !== 'gone') continue;
          if (action.actual.draining || confirmed.has(action.actual.instanceResourceId)) continue;
          for (const s of action.actual.services) removed.set(s.name, (removed.get(s.name) ?? 0) + 1);
        }
        for (const [service, count] of removed) {
          assert.ok(count <= world.maxRemovalShare * (registered.get(service) ?? 0) + 1e-9, `${service}: ${count} of ${registered.get(service)} removed at share ${world.maxRemovalShare}`);
        }
      }),
      RUNS,
    );
  });

  test('a node whose instance is still listed is only removed when the scale set names no service any more', () => {
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        const confirmed = new Set(world.confirmedGone);
        const listed = new Set(world.listing.filter((i) => !confirmed.has(i.resourceId)).map(nodeNameOf));
        for (const action of planReconcile(inputFor(world)).actions) {
          if (action.kind !== 'deregister' || !listed.has(action.actual.node)) continue;
          assert.equal(action.because, 'out-of-scope');
          assert.deepEqual(world.scaleSet.services, []);
        }
      }),
      RUNS,
    );
  });

  test('tombstoned nodes are never registered', () => {
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        const tombstones = new Set(world.tombstones);
        for (const action of planReconcile(inputFor(world)).actions) {
          if (action.kind === 'register') assert.ok(!tombstones.has(action.desired.node), `${action.desired.node} is tombstoned`);
        }
      }),
      RUNS,
    );
  });

  test('only nodes Consul holds for this scale set are updated or deregistered; registrations are new names', () => {
    const states = fc.constantFrom('in-mesh' as const, 'left-mesh' as const, 'not-found' as const);
    fc.assert(
      fc.property(plannerWorldArb(), states, (world, scaleSetState) => {
        const ours = new Map(world.actual.map((n) => [n.node, n]));
        const held = new Set([...world.actual, ...world.foreign].map((n) => n.node));
        for (const action of planReconcile(inputFor(world, { scaleSetState })).actions) {
          if (action.kind === 'register') {
            assert.ok(!held.has(action.desired.node), `register over existing ${action.desired.node}`);
            assert.ok(isThisScaleSet(world)(action.desired));
          } else {
            assert.equal(action.actual, ours.get(action.actual.node), `${action.kind} of ${action.actual.node}, which is not ours`);
          }
        }
      }),
      RUNS,
    );
  });

  test('a scale set that is gone or left the mesh loses exactly its own nodes', () => {
    fc.assert(
      fc.property(plannerWorldArb(), fc.constantFrom('left-mesh' as const, 'not-found' as const), (world, scaleSetState) => {
        const plan = planReconcile(inputFor(world, { scaleSetState, scaleSet: undefined }));
        assert.deepEqual(
          plan.actions.map((a) => (a.kind === 'deregister' ? `${a.actual.node} ${a.because}` : a.kind)),
          world.actual.map((n) => `${n.node} ${scaleSetState === 'not-found' ? 'gone' : 'out-of-scope'}`).sort(),
        );
      }),
      RUNS,
    );
  });

  test('registered and updated addresses are always the instance’s first private IP', () => {
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        const firstIp = new Map(world.listing.map((i) => [i.resourceId, i.privateIps[0]]));
        for (const action of planReconcile(inputFor(world)).actions) {
          if (action.kind === 'deregister') continue;
          assert.ok(action.desired.address, 'an address');
          assert.equal(action.desired.address, firstIp.get(action.desired.instanceResourceId));
        }
      }),
      RUNS,
    );
  });

  test('make before break: registers, then updates, then deregisters, each by node name', () => {
    fc.assert(
      fc.property(plannerWorldArb(), (world) => {
        const keys = planReconcile(inputFor(world)).actions.map((a) => `${['register', 'update', 'deregister'].indexOf(a.kind)} ${a.kind === 'register' ? a.desired.node : a.actual.node}`);
        assert.deepEqual(keys, [...keys].sort());
      }),
      RUNS,
    );
  });

  test('the plan does not depend on the order of the listing or of the nodes', () => {
    const shuffled = plannerWorldArb().chain((world) =>
      fc.tuple(
        fc.constant(world),
        fc.shuffledSubarray(world.listing, { minLength: world.listing.length }),
        fc.shuffledSubarray([...world.actual, ...world.foreign], { minLength: world.actual.length + world.foreign.length }),
      ),
    );
    fc.assert(
      fc.property(shuffled, ([world, listing, actual]) => {
        const shuffledInput = inputFor(world, { listing: { status: 'complete', listedAt: 1, instances: listing }, actual });
        assert.deepEqual(planReconcile(shuffledInput), planReconcile(inputFor(world)));
      }),
      RUNS,
    );
  });
});
