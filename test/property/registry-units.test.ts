/**
 * Properties of the registry's pure parts: how plan actions become per-node transaction units,
 * how units are packed into batches, and how health entries become endpoint health.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DesiredNode, ForeignEntries, OwnedNode, PlanAction } from '../../src/shared/model';
import { AZURE_CHECK_ID, MAINTENANCE_CHECK_ID, NODE_META } from '../../src/shared/ownership';
import { healthOf, packBatches } from '../../src/shared/consul';
import { planUnits } from '../../src/shared/consul/plan-units';
import type { TxnUnit } from '../../src/shared/consul/plan-units';
import type { TxnOp } from '../../src/shared/consul/txn-ops';
import { desiredNode, scaleSetId } from '../helpers/consul-fixtures';

const SS = scaleSetId('units');
const PREFIX = 'vmss-mesh';

const vmArb = fc.record({
  index: fc.nat(9),
  ip: fc.constantFrom('10.0.0.4', '10.0.0.5'),
  zone: fc.constantFrom(undefined, '1', '2'),
  status: fc.constantFrom('passing' as const, 'critical' as const),
  draining: fc.boolean(),
  services: fc.uniqueArray(fc.record({ name: fc.constantFrom('web', 'api', 'grpc'), port: fc.constantFrom(80, 81) }), { selector: (s) => s.name, minLength: 1, maxLength: 3 }),
});

type Vm = { index: number; ip: string; zone: string | undefined; status: 'passing' | 'critical'; draining: boolean; services: { name: string; port: number }[] };

function nodeOf(v: Vm): DesiredNode {
  return desiredNode(SS, { name: `vm_${v.index}`, ip: v.ip, zone: v.zone, status: v.status, draining: v.draining, services: v.services });
}

function owned(d: DesiredNode, modifyIndex: number, foreign?: ForeignEntries): OwnedNode {
  return { ...d, nodeModifyIndex: modifyIndex, ...(foreign ? { foreign } : {}) };
}

/** What someone may have added by hand to one of our nodes (as the reader reports it). */
const foreignArb = fc.option(
  fc.record({
    nodeMeta: fc.constantFrom<Record<string, string>>({}, { 'owner-team': 'payments' }),
    serviceIds: fc.constantFrom<string[]>([], ['legacy']),
    checkIds: fc.constantFrom<string[]>([], ['legacy-alive'], ['disk']),
  }),
  { nil: undefined },
);

const isShared = (a: OwnedNode): boolean => (a.foreign?.serviceIds.length ?? 0) + (a.foreign?.checkIds.length ?? 0) > 0;

/** Random "desired vs actual" worlds keyed by node name. */
const worldArb = fc
  .record({
    desired: fc.uniqueArray(vmArb, { selector: (v) => v.index, maxLength: 8 }),
    actual: fc.uniqueArray(fc.tuple(vmArb, foreignArb), { selector: ([v]) => v.index, maxLength: 8 }),
    tombstoned: fc.uniqueArray(fc.nat(9), { maxLength: 3 }),
    modifyIndex: fc.integer({ min: 1, max: 10_000 }),
  })
  .map(({ desired, actual, tombstoned, modifyIndex }) => ({
    desired: desired.map(nodeOf),
    actual: actual.map(([v, foreign]) => owned(nodeOf(v), modifyIndex + v.index, foreign)),
    tombstones: new Set(tombstoned.map((i) => desiredNode(SS, { name: `vm_${i}`, ip: '0.0.0.0' }).node)),
  }));

function actionsFor(desired: readonly DesiredNode[], actual: readonly OwnedNode[]): PlanAction[] {
  const held = new Map(actual.map((a) => [a.node, a]));
  const wanted = new Set(desired.map((d) => d.node));
  const actions: PlanAction[] = desired.map((d) => {
    const a = held.get(d.node);
    return a ? { kind: 'update', desired: d, actual: a, changes: [] } : { kind: 'register', desired: d };
  });
  for (const a of actual) if (!wanted.has(a.node)) actions.push({ kind: 'deregister', actual: a, because: a.nodeModifyIndex % 2 === 0 ? 'gone' : 'out-of-scope' });
  return actions;
}

function nodeOfOp(op: TxnOp): string {
  if ('Node' in op) return op.Node.Node.Node;
  if ('Service' in op) return op.Service.Node;
  if ('Check' in op) return op.Check.Check.Node;
  return op.KV.Key.slice(op.KV.Key.lastIndexOf('/') + 1);
}

describe('planUnits', () => {
  test('every unit touches exactly one node and is guarded as the protocol says', () => {
    fc.assert(
      fc.property(worldArb, ({ desired, actual, tombstones }) => {
        const held = new Map(actual.map((a) => [a.node, a]));
        const { units, skipped, unchanged } = planUnits(
          { scaleSetId: SS, actions: actionsFor(desired, actual), skipped: [] },
          { scaleSetId: SS, kvPrefix: PREFIX, actual: held, tombstones, expiredTombstones: [], liftedTombstones: [], now: 5, listedAt: 4, runId: 'r' },
        );
        for (const unit of units) {
          assert.deepEqual([...new Set(unit.ops.map(nodeOfOp))], [unit.node], 'one node per unit');
          const first = unit.ops[0] as TxnOp;
          if (unit.kind === 'register') {
            // No tombstone was read for it (none expired or lifted here): the marker fence guards it, no KV op.
            assert.ok('Node' in first && first.Node.Verb === 'cas' && first.Node.Node.ModifyIndex === 0, 'opens with the create-only node');
            assert.ok(!unit.ops.some((op) => 'KV' in op), 'no tombstone check');
            const d = desired.find((x) => x.node === unit.node) as DesiredNode;
            assert.equal(unit.ops.length, 2 + d.services.length + (d.draining ? 1 : 0), 'node + services + Azure check [+ maintenance]');
            assert.ok(!tombstones.has(unit.node), 'tombstoned nodes are never registered');
          }
          if (unit.kind === 'update') {
            assert.ok('Node' in first && first.Node.Verb === 'cas' && first.Node.Node.ModifyIndex === held.get(unit.node)?.nodeModifyIndex, 'updates open with Node cas at the read index');
            for (const [key, value] of Object.entries(held.get(unit.node)?.foreign?.nodeMeta ?? {})) {
              assert.equal(first.Node.Node.Meta?.[key], value, `foreign meta key ${key} is kept`);
            }
          }
          if (unit.kind === 'deregister') {
            const a = held.get(unit.node) as OwnedNode;
            const tombstone = a.nodeModifyIndex % 2 === 0 ? 1 : 0;
            assert.equal(unit.tombstoneWritten, tombstone === 1, 'a tombstone only when gone');
            if (!isShared(a)) {
              assert.deepEqual(first, { Node: { Verb: 'delete-cas', Node: { Node: unit.node, ModifyIndex: a.nodeModifyIndex } } });
              assert.equal(unit.ops.length, 1 + tombstone);
            } else {
              // Only our entries go; the node stays, guarded by its read index, without our external-source mark.
              assert.ok('Node' in first && first.Node.Verb === 'cas' && first.Node.Node.ModifyIndex === a.nodeModifyIndex, 'release opens with Node cas at the read index');
              const meta = first.Node.Node.Meta ?? {};
              assert.equal(meta[NODE_META.externalSource], undefined, 'no longer marked ours');
              assert.equal(meta[NODE_META.scaleSetId], SS, 'still says where it came from');
              for (const [key, value] of Object.entries(a.foreign?.nodeMeta ?? {})) assert.equal(meta[key], value);
              const deleted = unit.ops.slice(1).filter((op) => !('KV' in op));
              assert.deepEqual(
                deleted.map((op) => ('Service' in op ? `service ${op.Service.Verb} ${op.Service.Service.ID}` : 'Check' in op ? `check ${op.Check.Verb} ${op.Check.Check.CheckID}` : 'node')).sort(),
                [...a.services.map((sv) => `service delete ${sv.id}`), `check delete ${AZURE_CHECK_ID}`, `check delete ${MAINTENANCE_CHECK_ID}`].sort(),
              );
              assert.equal(unit.ops.length, 1 + deleted.length + tombstone);
            }
            assert.equal(unit.nodeDelta, -1);
          }
          const names = new Set([...desired, ...actual].filter((n) => n.node === unit.node).flatMap((n) => n.services.map((s) => s.name)));
          assert.ok(unit.changedServices.every((s) => names.has(s)), 'changed services belong to the node');
          assert.ok(unit.changedServices.length > 0);
        }
        const registers = desired.filter((d) => !held.has(d.node));
        assert.equal(skipped.length, registers.filter((d) => tombstones.has(d.node)).length);
        const updates = desired.filter((d) => held.has(d.node));
        assert.equal(units.filter((u) => u.kind === 'update').length + unchanged, updates.length);
      }),
    );
  });

  test('an update writes exactly what differs', () => {
    fc.assert(
      fc.property(vmArb, vmArb, fc.integer({ min: 1, max: 100 }), (before, after, index) => {
        const actual = owned(nodeOf(before), index, { nodeMeta: { 'owner-team': 'payments' }, serviceIds: [], checkIds: [] });
        const desired = nodeOf({ ...after, index: before.index });
        const { units, unchanged } = planUnits(
          { scaleSetId: SS, actions: [{ kind: 'update', desired, actual, changes: [] }], skipped: [] },
          { scaleSetId: SS, kvPrefix: PREFIX, actual: new Map([[actual.node, actual]]), tombstones: new Set(), expiredTombstones: [], liftedTombstones: [], now: 1, listedAt: 1, runId: 'r' },
        );
        const serviceDiffers = (d: DesiredNode['services'][number]): boolean => JSON.stringify(d) !== JSON.stringify(actual.services.find((a) => a.id === d.id));
        const removed = actual.services.filter((a) => !desired.services.some((d) => d.id === a.id));
        const differs =
          desired.address !== actual.address ||
          JSON.stringify(desired.nodeMeta) !== JSON.stringify(actual.nodeMeta) ||
          desired.azureCheck.status !== actual.azureCheck.status ||
          desired.draining !== actual.draining ||
          desired.services.some(serviceDiffers) ||
          removed.length > 0;
        if (!differs) {
          assert.deepEqual([unchanged, units.length], [1, 0]);
          return;
        }
        const unit = units[0] as TxnUnit;
        const checkOps = unit.ops.filter((op): op is Extract<TxnOp, { Check: unknown }> => 'Check' in op);
        assert.equal(checkOps.some((op) => op.Check.Check.CheckID === AZURE_CHECK_ID), desired.azureCheck.status !== actual.azureCheck.status);
        assert.equal(checkOps.some((op) => op.Check.Check.CheckID === MAINTENANCE_CHECK_ID), desired.draining !== actual.draining);
        const node = unit.ops[0] as Extract<TxnOp, { Node: unknown }>;
        assert.deepEqual(node.Node.Node.Meta, { 'owner-team': 'payments', ...desired.nodeMeta, [NODE_META.scaleSetId]: SS }, 'our meta over the foreign key');
        const serviceIds = unit.ops.filter((op) => 'Service' in op).map((op) => ('Service' in op ? op.Service.Service.ID : ''));
        assert.deepEqual(serviceIds.sort(), [...desired.services.filter(serviceDiffers).map((s) => s.id), ...removed.map((s) => s.id)].sort());
      }),
    );
  });
});

describe('packBatches', () => {
  const unitsArb = fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 30 }).map((sizes) =>
    sizes.map(
      (size, i): TxnUnit => ({
        node: `n${i}`,
        kind: 'register',
        ops: Array.from({ length: size }, () => ({ KV: { Verb: 'check-not-exists', Key: `k/n${i}` } })),
        changedServices: ['web'],
        tombstoneWritten: false,
        tombstonesExpired: 0,
        nodeDelta: 1,
      }),
    ),
  );

  test('keeps order, never splits a unit, never overfills, and closes a batch only when the next unit does not fit', () => {
    fc.assert(
      fc.property(unitsArb, fc.integer({ min: 7, max: 20 }), (units, capacity) => {
        const batches = packBatches(units, capacity, capacity + 1);
        assert.deepEqual(batches.flat(), units);
        for (const [i, batch] of batches.entries()) {
          const size = batch.reduce((n, u) => n + u.ops.length, 0);
          assert.ok(batch.length > 0 && size <= capacity);
          const next = batches[i + 1]?.[0];
          if (next) assert.ok(size + next.ops.length > capacity, 'greedy: the next unit did not fit');
        }
      }),
    );
  });
});

describe('packBatches uses the fewest transactions', () => {
  /** Fewest batches of at most `capacity` ops that keep the units' order (dynamic programming). */
  function fewestInOrder(sizes: readonly number[], capacity: number): number {
    const best = [0, ...sizes.map(() => Infinity)];
    for (let end = 1; end <= sizes.length; end += 1) {
      let size = 0;
      for (let start = end - 1; start >= 0; start -= 1) {
        size += sizes[start] as number;
        if (size > capacity) break;
        best[end] = Math.min(best[end] as number, (best[start] as number) + 1);
      }
    }
    return best[sizes.length] as number;
  }
  const unitOf = (size: number, i: number): TxnUnit => ({
    node: `n${i}`,
    kind: 'register',
    ops: Array.from({ length: size }, () => ({ Node: { Verb: 'cas', Node: { Node: `n${i}`, Address: '10.0.0.1', Meta: {}, ModifyIndex: 0 } } })),
    changedServices: ['web'],
    tombstoneWritten: false,
    tombstonesExpired: 0,
    nodeDelta: 1,
  });

  test('no order-keeping packing needs fewer batches, and none fewer than ceil(ops / capacity)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 40 }), fc.integer({ min: 9, max: 63 }), (sizes, capacity) => {
        const batches = packBatches(sizes.map(unitOf), capacity, capacity + 1);
        assert.equal(batches.length, fewestInOrder(sizes, capacity));
        assert.ok(batches.length >= Math.ceil(sizes.reduce((a, b) => a + b, 0) / capacity));
      }),
    );
  });

  test('a first sweep of one-service instances fills every transaction of 64 (marker check + 21 × 3 ops)', () => {
    const desired = Array.from({ length: 500 }, (_, i) => desiredNode(SS, { name: `vm_${i}`, ip: `10.1.${i >> 8}.${i & 255}` }));
    const { units } = planUnits(
      { scaleSetId: SS, actions: desired.map((d) => ({ kind: 'register', desired: d })), skipped: [] },
      { scaleSetId: SS, kvPrefix: PREFIX, actual: new Map(), tombstones: new Set(), expiredTombstones: [], liftedTombstones: [], now: 5, listedAt: 4, runId: 'r' },
    );
    assert.ok(units.every((u) => u.ops.length === 3));
    const batches = packBatches(units, 63, 64);
    assert.equal(batches.length, Math.ceil(500 / 21));
    assert.ok(batches.slice(0, -1).every((b) => b.reduce((n, u) => n + u.ops.length, 0) === 63));
  });
});

describe('healthOf', () => {
  const statusArb = fc.constantFrom('passing', 'warning', 'critical', 'maintenance', 'unknown-state');
  test('maintenance drains; otherwise the worst check wins and unknown statuses are critical', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ id: fc.constantFrom('a', 'b', MAINTENANCE_CHECK_ID), status: statusArb })), (checks) => {
        const entry = {
          Node: { Node: 'n', Address: '10.0.0.1', Meta: {} },
          Service: { ID: 's', Service: 's', Tags: [], Address: '', Port: 1, Meta: {}, Weights: null },
          Checks: checks.map((c) => ({ Node: 'n', CheckID: c.id, Status: c.status, Output: '', ServiceID: '' })),
        };
        const health = healthOf(entry);
        if (checks.some((c) => c.id === MAINTENANCE_CHECK_ID)) return assert.equal(health, 'draining');
        const statuses = checks.map((c) => c.status);
        if (statuses.some((s) => s !== 'passing' && s !== 'warning')) return assert.equal(health, 'critical');
        assert.equal(health, statuses.includes('warning') ? 'warning' : 'passing');
      }),
    );
  });
});
