/**
 * Properties of the pure choice of which of our KV keys the sweep deletes (consul/kv-garbage-rules.ts):
 * exactly the expired tombstones, and exactly the markers meeting every condition (not listed, no
 * nodes, older than the retention, last reconcile found the scale set gone, ARM-confirmed gone)
 * with their scale set's tombstones — never anything unreadable, malformed or of a scale set that
 * may come back; always at the index read. ARM is asked only about markers whose last reconcile
 * recorded `not-found` (a scale set that left the mesh is never looked up again).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goneMarkerCandidates, isTombstoneKey, selectKvGarbage } from '../../src/shared/consul/kv-garbage-rules';
import type { KvGarbageInput, TombstoneRecord } from '../../src/shared/consul/kv-garbage-rules';
import type { MarkerRecord } from '../../src/shared/consul/marker';
import { markerKey, tombstoneKey } from '../../src/shared/ownership';
import { reconcileSummary, scaleSetId } from '../helpers/consul-fixtures';

const PREFIX = 'vmss-mesh';
const NOW = 10_000_000;
const NAMES = ['a', 'b', 'c', 'd', 'e'];
const ids = NAMES.map((n) => scaleSetId(n));

const markerArb = fc.record({
  scaleSet: fc.nat(NAMES.length - 1),
  /** 0 = readable, 1 = unreadable value, 2 = value naming another scale set than its key. */
  shape: fc.constantFrom(0, 0, 0, 1, 2),
  claimedAgo: fc.integer({ min: -1_000, max: 3_000_000 }),
  finishedAgo: fc.option(fc.integer({ min: -1_000, max: 3_000_000 }), { nil: undefined }),
  /** What the last reconcile recorded about the scale set (undefined: nothing recorded). */
  state: fc.constantFrom('not-found', 'not-found', 'left-mesh', 'in-mesh', undefined),
  modifyIndex: fc.integer({ min: 1, max: 1_000_000 }),
});

const tombstoneArb = fc.record({
  scaleSet: fc.nat(NAMES.length - 1),
  node: fc.constantFrom('n1', 'n2', 'n3', 'n4'),
  /** 0 = well-formed key, 1 = nested one level deeper, 2 = missing the node. */
  keyShape: fc.constantFrom(0, 0, 0, 0, 1, 2),
  deletedAgo: fc.option(fc.integer({ min: -1_000, max: 3_000_000 }), { nil: null }),
  modifyIndex: fc.integer({ min: 1, max: 1_000_000 }),
});

const subsetArb = fc.uniqueArray(fc.nat(NAMES.length - 1), { maxLength: NAMES.length }).map((xs) => new Set(xs.map((i) => ids[i]!)));

const inputArb = fc
  .record({
    markers: fc.uniqueArray(markerArb, { selector: (m) => m.scaleSet, maxLength: NAMES.length }),
    tombstones: fc.uniqueArray(tombstoneArb, { selector: (t) => `${t.scaleSet}/${t.node}/${t.keyShape}`, maxLength: 15 }),
    listed: subsetArb,
    withNodes: subsetArb,
    confirmedGone: subsetArb,
    tombstoneTtlMs: fc.integer({ min: 0, max: 1_000_000 }),
    markerRetentionMs: fc.integer({ min: 0, max: 2_000_000 }),
  })
  .map(({ markers, tombstones, listed, withNodes, confirmedGone, tombstoneTtlMs, markerRetentionMs }) => {
    const markerRecords: MarkerRecord[] = markers.map((m) => {
      const id = ids[m.scaleSet]!;
      const named = m.shape === 2 ? ids[(m.scaleSet + 1) % ids.length]! : id;
      const value =
        m.shape === 1
          ? null
          : {
              scaleSetId: named,
              listedAt: NOW - m.claimedAgo,
              runId: 'r',
              claimedAt: NOW - m.claimedAgo,
              ...(m.finishedAgo === undefined ? {} : { lastReconcile: reconcileSummary({ finishedAt: NOW - m.finishedAgo, ...(m.state ? { scaleSetState: m.state } : {}) }) }),
            };
      return { key: markerKey(PREFIX, id), modifyIndex: m.modifyIndex, value };
    });
    const tombstoneRecords: TombstoneRecord[] = tombstones.map((t) => {
      const base = tombstoneKey(PREFIX, ids[t.scaleSet]!, t.node);
      const key = t.keyShape === 1 ? `${base}/extra` : t.keyShape === 2 ? tombstoneKey(PREFIX, ids[t.scaleSet]!, '').slice(0, -1) : base;
      const value = t.deletedAgo === null ? null : { deletedAt: NOW - t.deletedAgo, listedAt: 0, runId: 'r', instanceResourceId: 'x' };
      return { key, modifyIndex: t.modifyIndex, value };
    });
    const input: KvGarbageInput & { confirmedGone: ReadonlySet<string> } = {
      kvPrefix: PREFIX,
      markers: markerRecords,
      tombstones: tombstoneRecords,
      listedScaleSetIds: listed,
      scaleSetsWithNodes: withNodes,
      confirmedGone,
      now: NOW,
      tombstoneTtlMs,
      markerRetentionMs,
    };
    return input;
  });

/** The rules written out once more, plainly, per key. */
function markerIsGarbage(input: KvGarbageInput & { confirmedGone: ReadonlySet<string> }, m: MarkerRecord): boolean {
  if (!m.value || m.key !== markerKey(PREFIX, m.value.scaleSetId)) return false;
  const id = m.value.scaleSetId;
  const last = Math.max(m.value.claimedAt, m.value.lastReconcile?.finishedAt ?? 0);
  return (
    !input.listedScaleSetIds.has(id) &&
    !input.scaleSetsWithNodes.has(id) &&
    m.value.lastReconcile?.scaleSetState === 'not-found' &&
    input.confirmedGone.has(id) &&
    NOW - last >= input.markerRetentionMs
  );
}

function tombstoneExpired(input: KvGarbageInput, t: TombstoneRecord): boolean {
  return isTombstoneKey(PREFIX, t.key) && t.value !== null && NOW - t.value.deletedAt >= input.tombstoneTtlMs;
}

describe('KV cleanup selection', () => {
  test('deletes exactly the expired tombstones and exactly the markers meeting every condition', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const garbage = selectKvGarbage(input);
        assert.deepEqual(
          garbage.expiredTombstones.map((t) => t.key).sort(),
          input.tombstones.filter((t) => tombstoneExpired(input, t)).map((t) => t.key).sort(),
        );
        assert.deepEqual(
          garbage.goneMarkers.map((m) => m.key).sort(),
          input.markers.filter((m) => markerIsGarbage(input, m)).map((m) => m.key).sort(),
        );
      }),
      { numRuns: 500 },
    );
  });

  test("a gone marker takes exactly its scale set's well-formed tombstones that were not already expired", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const garbage = selectKvGarbage(input);
        for (const marker of input.markers.filter((m) => markerIsGarbage(input, m))) {
          const gone = garbage.goneMarkers.find((g) => g.key === marker.key);
          assert.ok(gone, `${marker.key} is selected`);
          const prefix = tombstoneKey(PREFIX, gone.scaleSetId, '');
          const want = input.tombstones.filter((t) => t.key.startsWith(prefix) && isTombstoneKey(PREFIX, t.key) && !tombstoneExpired(input, t));
          assert.deepEqual(gone.tombstones.map((t) => t.key).sort(), want.map((t) => t.key).sort());
        }
        const all = [...garbage.expiredTombstones, ...garbage.goneMarkers.flatMap((m) => m.tombstones)].map((t) => t.key);
        assert.equal(new Set(all).size, all.length, 'no key is deleted twice');
        // Every delete-cas carries the index the key was read at.
        const read = new Map<string, number>([...input.tombstones, ...input.markers].map((e) => [e.key, e.modifyIndex]));
        for (const k of [...garbage.expiredTombstones, ...garbage.goneMarkers, ...garbage.goneMarkers.flatMap((m) => m.tombstones)]) {
          assert.equal(k.modifyIndex, read.get(k.key));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('without a confirmation from ARM no marker goes, and ARM is asked only about markers meeting the other conditions', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        assert.deepEqual(selectKvGarbage({ ...input, confirmedGone: new Set() }).goneMarkers, []);
        const everyone = new Set(ids);
        const asked = goneMarkerCandidates(input).map((c) => c.scaleSetId).sort();
        const eligible = input.markers.filter((m) => markerIsGarbage({ ...input, confirmedGone: everyone }, m)).map((m) => m.value!.scaleSetId).sort();
        assert.deepEqual(asked, eligible);
        // Had ARM confirmed every one of them, exactly those would go.
        assert.deepEqual(selectKvGarbage({ ...input, confirmedGone: everyone }).goneMarkers.map((m) => m.scaleSetId).sort(), eligible);
        for (const id of asked) assert.ok(!input.listedScaleSetIds.has(id) && !input.scaleSetsWithNodes.has(id));
      }),
      { numRuns: 500 },
    );
  });
});
