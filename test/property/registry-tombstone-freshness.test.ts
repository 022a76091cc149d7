/**
 * A tombstone guards against a stale listing, not a fresh one (issue 9, D1): against the Consul
 * double over HTTP, each run with its own registry and clock (Function hosts do not share one).
 * - a run whose listing started before the tombstone was written, or within the margin after it,
 *   never registers the node, and the tombstone stays as it was;
 * - a run whose listing started later registers it and deletes the tombstone in the same txn;
 * - a tombstone rewritten between that run's read and its write still stops it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TOMBSTONE_FRESH_LISTING_MARGIN_MS } from '../../src/shared/consul/tombstone';
import { tombstoneKey } from '../../src/shared/ownership';
import { consulHttp, desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';

const MARGIN = TOMBSTONE_FRESH_LISTING_MARGIN_MS;
const TTL_MS = 600_000;

async function removedWorld(t: Parameters<typeof registryFor>[0], consulUrl: string, deletedAt: number) {
  const kvPrefix = `fresh-${uniqueSuffix()}`;
  const ss = scaleSetId(`fresh-${uniqueSuffix()}`);
  const vm = desiredNode(ss, { name: 'vm_0', ip: '10.0.0.4', zone: '1' });
  const remover = registryFor(t, consulUrl, { kvPrefix, tombstoneTtlMs: TTL_MS, now: () => deletedAt });
  const first = await remover.beginReconcile(ss, deletedAt - 20_000);
  await first.apply(localPlan(ss, [vm], first));
  const removal = await remover.beginReconcile(ss, deletedAt - 10_000);
  assert.equal((await removal.apply(localPlan(ss, [], removal))).counts.tombstonesWritten, 1);
  return { kvPrefix, ss, vm, key: tombstoneKey(kvPrefix, ss, vm.node) };
}

test('only a listing that started after the tombstone (plus the margin) brings the node back', async (t) => {
  const consul = await startDouble(t);
  const deletedAt = 1_000_000;
  const kvEntry = (key: string) => consul.state.snapshot().kv.find((e) => e.key === key);
  const hasNode = (node: string) => consul.state.snapshot().nodes.some((n) => n.node === node);
  await fc.assert(
    fc.asyncProperty(
      // Listings of later runs, relative to deletedAt; each run's own clock runs up to 3 s past its listing.
      fc.uniqueArray(fc.integer({ min: -9_999, max: 2 * MARGIN }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 4, maxLength: 4 }),
      async (offsets, lags) => {
        const w = await removedWorld(t, consul.url, deletedAt);
        const before = kvEntry(w.key);
        assert.ok(before);
        const listings = [...offsets].sort((a, b) => a - b).map((o) => deletedAt + o);
        for (const [i, listedAt] of listings.entries()) {
          const clock = listedAt + (lags[i] ?? 0);
          const run = registryFor(t, consul.url, { kvPrefix: w.kvPrefix, tombstoneTtlMs: TTL_MS, now: () => clock });
          const session = await run.beginReconcile(w.ss, listedAt);
          const fresh = listedAt > deletedAt + MARGIN;
          assert.equal(session.tombstones.has(w.vm.node), !fresh && !hasNode(w.vm.node), `tombstone reported live for a listing ${listedAt - deletedAt} ms after it`);
          // Forced: whatever the planner would do, the registry itself must refuse a stale listing.
          const result = await session.apply(hasNode(w.vm.node) ? localPlan(w.ss, [w.vm], session) : { scaleSetId: w.ss, actions: [{ kind: 'register', desired: w.vm }], skipped: [] });
          if (!fresh) {
            assert.equal(result.counts.registered, 0);
            assert.equal(hasNode(w.vm.node), false, `a listing ${listedAt - deletedAt} ms after the tombstone registered the node`);
            assert.deepEqual(kvEntry(w.key), before, 'the tombstone is untouched');
          } else {
            assert.equal(hasNode(w.vm.node), true, `a listing ${listedAt - deletedAt} ms after the tombstone did not register the node`);
            assert.equal(kvEntry(w.key), undefined, 'the registration deleted the tombstone');
          }
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('a tombstone rewritten after a fresh run read it still stops that run (delete-cas, then check-not-exists)', async (t) => {
  const consul = await startDouble(t);
  const deletedAt = 1_000_000;
  const w = await removedWorld(t, consul.url, deletedAt);
  const listedAt = deletedAt + MARGIN + 1;
  const run = registryFor(t, consul.url, { kvPrefix: w.kvPrefix, tombstoneTtlMs: TTL_MS, now: () => listedAt });
  const newer = JSON.stringify({ deletedAt: listedAt + 1, listedAt: listedAt + 1, runId: 'newer-removal', instanceResourceId: w.vm.instanceResourceId });
  const session = await run.beginReconcile(w.ss, listedAt, {
    hooks: {
      beforeStep: async (step) => {
        if (step.kind === 'batch' && step.index === 0) await consulHttp(consul.url, 'PUT', `/v1/kv/${w.key}`, { raw: newer });
      },
    },
  });
  assert.equal(session.tombstones.has(w.vm.node), false, 'lifted when read');

  const result = await session.apply({ scaleSetId: w.ss, actions: [{ kind: 'register', desired: w.vm }], skipped: [] });

  assert.equal(result.counts.registered, 0);
  assert.deepEqual(result.skipped.map((s) => s.reason.split(':')[0]), ['tombstoned']);
  assert.equal(consul.state.snapshot().nodes.some((n) => n.node === w.vm.node), false);
  assert.equal(consul.state.snapshot().kv.find((e) => e.key === w.key)?.value, newer, 'the newer tombstone stays');
});
