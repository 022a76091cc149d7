/**
 * The timer sweep's cleanup of our own KV keys (expired tombstones, markers of scale sets deleted
 * in ARM) through the real reconciler, the real Consul registry over HTTP against the Consul
 * double, and the real inventory against the ARM emulator. The clock is the test's: retention and
 * TTLs are crossed by moving it, not by waiting.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createAzureInventory } from '../../src/shared/azure/azure-inventory';
import { cleanupKv } from '../../src/shared/consul/kv-garbage-sweep';
import { MARKER_RETENTION_MS } from '../../src/shared/consul/kv-garbage-rules';
import { parseMarker, serializeMarker } from '../../src/shared/consul/marker';
import { ConsulTransport } from '../../src/shared/consul/transport';
import { noRelayPublisher } from '../../src/shared/endpoints';
import { ConfigError, TransientError, errorMessage } from '../../src/shared/errors';
import type { ScopeConfig } from '../../src/shared/config';
import { markerKey, tombstoneKey } from '../../src/shared/ownership';
import type { KvCleanupReport, RegistryPort } from '../../src/shared/reconcile/ports';
import { Reconciler } from '../../src/shared/reconcile/reconciler';
import { scaleSetId as armScaleSetId, scaleSetRef } from '../../src/shared/resource-id';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';
import type { HostLogRecord } from '../../src/sandbox/functions-host/functions-host';
import { SUBSCRIPTION, WEB_TAGS, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';
import { consulConfigFor, reconcileSummary, registryFor, startDouble } from '../helpers/consul-fixtures';

const PREFIX = 'kvgc';
const TTL_MS = 600_000;
const RG = 'rg-mesh';
const SWEEP_STEP_MS = 1_000;
const idOf = (name: string, rg = RG) => armScaleSetId(SUBSCRIPTION, rg, name).toLowerCase();

/** ARM emulator + Consul double + registry (5 operations per transaction) + reconciler, on the test's clock. */
async function sweepWorld(t: TestContext, options: { scope?: ScopeConfig; wrap?: (r: RegistryPort) => RegistryPort } = {}) {
  const { arm, clients } = await startArmFixture(t, { world: { lifecycle: { createDelayMs: 0, drainMs: 0 } } });
  arm.world.createResourceGroup(SUBSCRIPTION, RG);
  arm.world.createResourceGroup(SUBSCRIPTION, 'rg-elsewhere');
  const consul = await startDouble(t);
  const clock = { now: Date.parse('2026-03-01T00:00:00Z') };
  const registry = registryFor(t, consul.url, { kvPrefix: PREFIX, tombstoneTtlMs: TTL_MS, txnBatchSize: 5, now: () => clock.now });
  const inventory = createAzureInventory(clients, options.scope ?? { subscriptions: [SUBSCRIPTION], resourceGroups: [] });
  // The coalescer's clock is the test's too: the sweep's runs share it with the hints (deleteEvent), and
  // a run covers an event by comparing its start with the event's time.
  const reconciler = new Reconciler({ inventory, registry: options.wrap ? options.wrap(registry) : registry, publisher: noRelayPublisher, maxRemovalShare: 1, now: () => clock.now }, { now: () => clock.now });
  const kv = () => new Map(consul.state.snapshot().kv.map((e) => [e.key, e]));
  const keysUnder = (prefix: string) => [...kv().keys()].filter((k) => k.startsWith(prefix)).sort();
  const sweep = async () => {
    clock.now += SWEEP_STEP_MS; // every sweep lists later than the one before (equal listings supersede each other)
    const run = await reconciler.reconcileAll('test');
    assert.deepEqual(run.failures, []);
    return run;
  };
  const cleaned = async (): Promise<KvCleanupReport & { armCalls: number }> => {
    const run = await sweep();
    if (!run.kvCleanup.ok) assert.fail(`cleanup failed: ${run.kvCleanup.error}`);
    return run.kvCleanup;
  };
  /** What the scale set's delete event (ResourceDeleteSuccess, virtualMachineScaleSets/delete) leads to: a reconcile of it. */
  const deleteEvent = async (name: string) => {
    clock.now += SWEEP_STEP_MS;
    const result = await reconciler.reconcileHint({
      target: { kind: 'scale-set', ref: scaleSetRef(SUBSCRIPTION, RG, name) },
      reason: 'event:Microsoft.Compute/virtualMachineScaleSets/delete',
      eventTime: new Date(clock.now).toISOString(),
      eventId: `delete-${name}-${clock.now}`,
    });
    assert.equal(result.kind, 'reconciled');
    return result;
  };
  const recordedState = (name: string) => {
    const entry = kv().get(markerKey(PREFIX, idOf(name)));
    return parseMarker(entry?.value ?? '')?.lastReconcile?.scaleSetState;
  };
  return { arm, consul, registry, clock, kv, keysUnder, sweep, cleaned, deleteEvent, recordedState };
}

test('expired tombstones of scale sets the sweep no longer visits are removed after the reconciles; fresh ones and live markers stay', async (t) => {
  // A scale set still reconciled expires its own tombstones when it applies (plan-units.ts). These
  // two are no longer visited once emptied: one left the mesh, one was deleted in ARM.
  const w = await sweepWorld(t);
  const left = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'left' };
  const gone = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'gone' };
  w.arm.world.createScaleSet(scaleSetInput({ name: 'left', capacity: 12 }));
  w.arm.world.createScaleSet(scaleSetInput({ name: 'gone', capacity: 4 }));
  assert.equal((await w.sweep()).totals.registered, 16);

  w.arm.world.scale(left, 6);
  w.arm.world.flush();
  assert.equal((await w.sweep()).totals.deregistered, 6);
  const leftTombstones = tombstoneKey(PREFIX, idOf('left'), '');
  assert.equal(w.keysUnder(leftTombstones).length, 6);
  w.arm.world.setTags(left, {});
  assert.equal((await w.sweep()).totals.deregistered, 6, 'left the mesh (no tombstones for those)');

  w.clock.now += TTL_MS / 2;
  w.arm.world.deleteScaleSet(gone);
  w.arm.world.flush();
  const deletion = await w.sweep();
  assert.equal(deletion.totals.deregistered, 4);
  assert.ok(deletion.kvCleanup.ok && deletion.kvCleanup.tombstonesRemoved === 0, 'nothing has expired yet');
  const goneTombstones = tombstoneKey(PREFIX, idOf('gone'), '');
  assert.equal(w.keysUnder(goneTombstones).length, 4);

  w.clock.now += TTL_MS / 2; // the six of `left` reach their TTL (the rule is deletedAt + TTL ≤ now)
  const report = await w.cleaned();
  assert.equal(report.tombstonesRemoved, 6, 'in two transactions of at most 5 operations');
  assert.equal(report.markersRemoved, 0);
  assert.deepEqual(w.keysUnder(leftTombstones), []);
  assert.equal(w.keysUnder(goneTombstones).length, 4, 'the fresh ones stay');
  assert.deepEqual(w.keysUnder(`${PREFIX}/scale-sets/`), [markerKey(PREFIX, idOf('gone')), markerKey(PREFIX, idOf('left'))], 'markers stay (retention)');

  w.clock.now += TTL_MS / 2;
  assert.equal((await w.cleaned()).tombstonesRemoved, 4);
  assert.deepEqual(w.keysUnder(`${PREFIX}/tombstones/`), []);
  assert.equal((await w.cleaned()).tombstonesRemoved, 0, 'idempotent');
});

test('a key rewritten between the read and the delete is kept (delete-cas at the read index)', async (t) => {
  const w = await sweepWorld(t);
  const gone = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'gone' };
  w.arm.world.createScaleSet(scaleSetInput({ name: 'gone', capacity: 2 }));
  await w.sweep();
  w.arm.world.scale(gone, 0);
  w.arm.world.flush();
  await w.sweep();
  const [first, second] = w.keysUnder(tombstoneKey(PREFIX, idOf('gone'), ''));
  assert.ok(first && second);
  w.arm.world.deleteScaleSet(gone);
  w.arm.world.flush();
  await w.deleteEvent('gone');
  assert.equal(w.recordedState('gone'), 'not-found');
  w.clock.now += MARKER_RETENTION_MS;

  // confirmGone runs after the read and before the deletes: the test rewrites keys there.
  const rewritten = Buffer.from(JSON.stringify({ deletedAt: w.clock.now, listedAt: w.clock.now, runId: 'other', instanceResourceId: 'x' })).toString('base64');
  const report = await w.registry.cleanupKv({
    listedScaleSetIds: [],
    confirmGone: async () => {
      assert.equal((await fetch(`${w.consul.url}/v1/kv/${first}`, { method: 'PUT', body: Buffer.from(rewritten, 'base64') })).status, 200);
      return false; // ARM answered something else than 404: the marker stays
    },
  });
  assert.equal(report.tombstonesRemoved, 1);
  assert.equal(report.keptChanged, 1);
  assert.equal(report.markersRemoved, 0);
  assert.deepEqual(w.keysUnder(tombstoneKey(PREFIX, idOf('gone'), '')), [first], 'the rewritten tombstone is kept');

  // A new claim of the scale set between the read and the delete: its marker and tombstones stay.
  w.clock.now += MARKER_RETENTION_MS;
  const claimed = await w.registry.cleanupKv({
    listedScaleSetIds: [],
    confirmGone: async (id) => {
      await (await w.registry.beginReconcile(id, w.clock.now)).apply({ scaleSetId: id, actions: [], skipped: [] });
      return true;
    },
  });
  assert.equal(claimed.markersRemoved, 0);
  assert.equal(claimed.keptChanged, 1);
  assert.ok(w.kv().has(markerKey(PREFIX, idOf('gone'))));
  assert.equal(claimed.tombstonesRemoved, 1, 'only the tombstone that expired on its own goes');
});

test('a marker of a scale set deleted in ARM goes only once no node is left and its last claim is older than the retention', async (t) => {
  const w = await sweepWorld(t);
  const gone = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'gone' };
  w.arm.world.createScaleSet(scaleSetInput({ name: 'gone', capacity: 2 }));
  w.arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
  await w.sweep();
  const marker = markerKey(PREFIX, idOf('gone'));
  w.arm.world.deleteScaleSet(gone);
  w.arm.world.flush();
  w.clock.now += 2 * MARKER_RETENTION_MS;

  // Nodes are still registered (no reconcile ran since the deletion): the marker stays, ARM is not even asked.
  const asked: string[] = [];
  const confirmGone = async (id: string) => {
    asked.push(id);
    return true;
  };
  const withNodes = await w.registry.cleanupKv({ listedScaleSetIds: [idOf('web')], confirmGone });
  assert.equal(withNodes.markersRemoved, 0);
  assert.deepEqual(asked, []);
  assert.ok(w.kv().has(marker));

  // The sweep deregisters the nodes (ARM 404) with a fresh claim: the marker is kept for the retention.
  const removal = await w.sweep();
  assert.equal(removal.totals.deregistered, 2);
  assert.ok(removal.kvCleanup.ok && removal.kvCleanup.markersRemoved === 0);
  assert.equal(w.keysUnder(tombstoneKey(PREFIX, idOf('gone'), '')).length, 2);

  // Its last claim was that sweep's (clock + SWEEP_STEP_MS); the next sweep steps the clock too.
  w.clock.now += MARKER_RETENTION_MS - SWEEP_STEP_MS - 1;
  const early = await w.cleaned();
  assert.equal(early.markersRemoved, 0);
  assert.equal(early.tombstonesRemoved, 2, 'its tombstones expired long before (TTL 10 min)');
  assert.ok(w.kv().has(marker));

  const late = await w.cleaned();
  assert.equal(late.markersRemoved, 1);
  assert.ok(late.armCalls >= 1, 'ARM was asked');
  assert.equal(w.kv().has(marker), false);
  assert.ok(w.kv().has(markerKey(PREFIX, idOf('web'))), 'the live scale set keeps its marker');
  assert.deepEqual(w.keysUnder(`${PREFIX}/scale-sets/`), [markerKey(PREFIX, idOf('web'))]);
});

test("the deleted scale set's tombstones that have not expired go with its marker", async (t) => {
  const w = await sweepWorld(t);
  const gone = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'gone' };
  w.arm.world.createScaleSet(scaleSetInput({ name: 'gone', capacity: 1 }));
  await w.sweep();
  w.arm.world.scale(gone, 0);
  w.arm.world.flush();
  await w.sweep();
  w.arm.world.deleteScaleSet(gone);
  w.arm.world.flush();
  await w.deleteEvent('gone'); // emptied before, so the timer no longer visits it: the delete event records it gone
  w.clock.now += MARKER_RETENTION_MS;
  // A tombstone stamped later than the last claim (a clock ahead, for instance): not expired yet.
  const late = tombstoneKey(PREFIX, idOf('gone'), 'late-node');
  const value = JSON.stringify({ deletedAt: w.clock.now, listedAt: w.clock.now, runId: 'r', instanceResourceId: 'x' });
  assert.equal((await fetch(`${w.consul.url}/v1/kv/${late}`, { method: 'PUT', body: value })).status, 200);
  const report = await w.cleaned();
  assert.equal(report.markersRemoved, 1);
  assert.equal(report.tombstonesRemoved, 2, 'the expired one and the one that went with the marker');
  assert.deepEqual(w.keysUnder(`${PREFIX}/`), []);
});

test('a scale set that still exists keeps its marker: left the mesh, or out of scope (the deleted one beside them goes)', async (t) => {
  const w = await sweepWorld(t, { scope: { subscriptions: [SUBSCRIPTION], resourceGroups: [RG] } });
  const left = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'left' };
  const gone = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'gone' };
  w.arm.world.createScaleSet(scaleSetInput({ name: 'left', capacity: 2 }));
  w.arm.world.createScaleSet(scaleSetInput({ name: 'gone', capacity: 1 }));
  await w.sweep();
  w.arm.world.setTags(left, {});
  w.arm.world.deleteScaleSet(gone);
  w.arm.world.flush();
  assert.equal((await w.sweep()).totals.deregistered, 3);
  // A mesh scale set outside the configured resource groups, which a hint once claimed.
  w.arm.world.createScaleSet(scaleSetInput({ name: 'outside', resourceGroup: 'rg-elsewhere', capacity: 0, tags: WEB_TAGS }));
  const outside = idOf('outside', 'rg-elsewhere');
  await (await w.registry.beginReconcile(outside, w.clock.now)).apply({ scaleSetId: outside, actions: [], skipped: [] }, { scaleSetState: 'in-mesh' });
  assert.deepEqual([w.recordedState('left'), w.recordedState('gone')], ['left-mesh', 'not-found']);

  w.clock.now += 2 * MARKER_RETENTION_MS;
  const report = await w.cleaned();
  assert.equal(report.markersRemoved, 1, 'only the deleted scale set');
  assert.equal(report.tombstonesRemoved, 1, "the deleted scale set's; left-mesh removals write none");
  assert.deepEqual(report.unconfirmed, []);
  assert.equal(report.armCalls, 1, 'ARM is asked only about the scale set whose last reconcile found it gone');
  assert.deepEqual(w.keysUnder(`${PREFIX}/scale-sets/`), [markerKey(PREFIX, idOf('left')), markerKey(PREFIX, outside)].sort());

  // The ones that still exist are not candidates at all: no ARM look-up, sweep after sweep.
  w.clock.now += MARKER_RETENTION_MS;
  const again = await w.cleaned();
  assert.deepEqual([again.armCalls, again.deferred, again.unconfirmed.length, again.markersRemoved], [0, 0, 0, 0]);

  // Deleted after it left the mesh: its delete event's reconcile records it gone, and its marker goes.
  w.arm.world.deleteScaleSet(left);
  w.arm.world.flush();
  await w.deleteEvent('left');
  assert.equal(w.recordedState('left'), 'not-found');
  w.clock.now += MARKER_RETENTION_MS;
  const afterDelete = await w.cleaned();
  assert.deepEqual([afterDelete.armCalls, afterDelete.markersRemoved], [1, 1]);
  assert.deepEqual(w.keysUnder(`${PREFIX}/scale-sets/`), [markerKey(PREFIX, outside)]);
});

test('an ARM error keeps the marker; a failed cleanup fails none of the reconciles and runs again next sweep', async (t) => {
  let cleanupFails = false;
  const w = await sweepWorld(t, {
    wrap: (registry) =>
      Object.assign(Object.create(registry) as RegistryPort, {
        cleanupKv: (request: Parameters<RegistryPort['cleanupKv']>[0]) => (cleanupFails ? Promise.reject(new Error('Consul said no')) : registry.cleanupKv(request)),
      }),
  });
  const gone = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'gone' };
  const web = { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'web' };
  w.arm.world.createScaleSet(scaleSetInput({ name: 'gone', capacity: 1 }));
  w.arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
  await w.sweep();
  w.arm.world.deleteScaleSet(gone);
  w.arm.world.flush();
  await w.sweep(); // deregisters the deleted scale set's node
  w.clock.now += MARKER_RETENTION_MS;
  const marker = markerKey(PREFIX, idOf('gone'));

  for (const fault of [{ status: 429, code: 'TooManyRequests' }, { status: 403, code: 'AuthorizationFailed' }, { status: 500, code: 'InternalServerError' }]) {
    w.arm.faults.clear();
    w.arm.faults.fail(20, { ...fault, method: 'GET', pathIncludes: '/virtualMachineScaleSets/gone' });
    const report = await w.cleaned();
    assert.equal(report.markersRemoved, 0, `ARM ${fault.status} keeps the marker`);
    assert.deepEqual(report.unconfirmed.map((u) => u.scaleSetId), [idOf('gone')]);
    assert.ok(w.kv().has(marker));
  }
  w.arm.faults.clear();

  cleanupFails = true;
  w.arm.world.scale(web, 1);
  w.arm.world.flush();
  const run = await w.sweep();
  assert.equal(run.totals.deregistered, 1, 'the reconciles ran and committed');
  assert.deepEqual(run.kvCleanup, { ok: false, error: 'KV cleanup of expired tombstones and markers of deleted scale sets failed (kept; retried at the next sweep): Consul said no' });
  assert.ok(w.kv().has(marker));

  cleanupFails = false;
  const retried = await w.cleaned();
  assert.equal(retried.markersRemoved, 1, 'the next sweep removes it');
  assert.equal(w.kv().has(marker), false);
});

test('the timer logs what the cleanup removed in its summary line', async (t) => {
  const logs: HostLogRecord[] = [];
  const world = await startLocalWorld({ lifecycle: { createDelayMs: 0, drainMs: 0 }, settings: { VMSS_MESH_TOMBSTONE_TTL_SECONDS: '0' }, log: (r) => logs.push(r) });
  t.after(() => world.close());
  const selector = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...selector, capacity: 2, tags: WEB_TAGS });
  await world.host.invoke('reconcileTimer');
  world.arm.world.scale(selector, 0);
  world.arm.world.flush();
  await world.host.invoke('reconcileTimer'); // writes 2 tombstones, expired at once (TTL 0) and removed by the same sweep
  const sweeps = logs.filter((l) => l.functionName === 'reconcileTimer' && l.message.includes('"event":"sweep"')).map((l) => JSON.parse(l.message) as { msg: string });
  assert.equal(sweeps.length, 2, JSON.stringify(logs));
  assert.match(sweeps[1]!.msg, /^swept 1 scale sets: \+0 ~0 -2, .*; KV cleanup -2 tombstones -0 markers; lowest ARM reads remaining \d+ \(.*\); full speed \(\d+ at a time\)$/);
  assert.deepEqual(world.consul.state.snapshot().kv.filter((e) => e.key.includes('/tombstones/')), []);
});

test('beyond the per-sweep cap of ARM look-ups, markers of scale sets that still exist do not starve the others', async (t) => {
  const consul = await startDouble(t);
  const transport = new ConsulTransport(consulConfigFor(consul.url));
  t.after(() => transport.close());
  const now = Date.parse('2026-03-05T00:00:00Z');
  const names = ['a', 'b', 'c'];
  await putGoneMarkers(consul.url, names); // `a` is the oldest, so it would come first every time
  const asked: string[] = [];
  for (const random of [0, 0.4, 0.7]) {
    const report = await cleanupKv(
      { transport, kvPrefix: PREFIX, txnBatchSize: 64, tombstoneTtlMs: TTL_MS, now: () => now, maxGoneChecks: 1, random: () => random },
      { listedScaleSetIds: [], confirmGone: async (id) => (asked.push(id), false) },
    );
    assert.equal(report.deferred, 2);
  }
  assert.deepEqual(asked.sort(), names.map((n) => idOf(n)).sort(), 'each was asked once in three sweeps');
});

/** Markers of scale sets whose last reconcile found them gone, claimed at 0, 1, 2 … ms in `names` order. */
async function putGoneMarkers(consulUrl: string, names: readonly string[]): Promise<void> {
  for (const [i, name] of names.entries()) {
    const value = serializeMarker({ scaleSetId: idOf(name), listedAt: i, runId: name, claimedAt: i, lastReconcile: reconcileSummary({ runId: name, listedAt: i, finishedAt: i, scaleSetState: 'not-found' }) });
    assert.equal((await fetch(`${consulUrl}/v1/kv/${markerKey(PREFIX, idOf(name))}`, { method: 'PUT', body: value })).status, 200);
  }
}


test('a throttled or failing ARM stops the look-ups of this sweep; an error of one scale set does not; no candidate is always first', async (t) => {
  const consul = await startDouble(t);
  const transport = new ConsulTransport(consulConfigFor(consul.url));
  t.after(() => transport.close());
  const now = Date.parse('2026-03-05T00:00:00Z');
  const names = ['a', 'b', 'c'];
  await putGoneMarkers(consul.url, names);
  const ctx = { transport, kvPrefix: PREFIX, txnBatchSize: 64, tombstoneTtlMs: TTL_MS, now: () => now, random: () => 0 };

  // Transient (429, 5xx, network): no look-up after it, the rest are deferred to the next sweep.
  const throttled = new TransientError('ARM throttled the request (429); retry after 30 s', 'arm', 30_000);
  const asked: string[] = [];
  let report = await cleanupKv(ctx, { listedScaleSetIds: [], confirmGone: async (id) => (asked.push(id), Promise.reject(throttled)) });
  assert.deepEqual(asked, [idOf('a')], 'no look-up after a throttled one');
  assert.deepEqual(report.unconfirmed, [{ scaleSetId: idOf('a'), error: errorMessage(throttled) }]);
  assert.deepEqual([report.deferred, report.markersRemoved], [2, 0]);

  // A clean answer ("still there") does not stop them; the throttled one after it does.
  asked.length = 0;
  report = await cleanupKv(ctx, { listedScaleSetIds: [], confirmGone: async (id) => (asked.push(id), asked.length === 1 ? false : Promise.reject(throttled)) });
  assert.deepEqual(asked, [idOf('a'), idOf('b')]);
  assert.deepEqual([report.unconfirmed.length, report.deferred], [1, 1]);

  // An error that concerns one scale set (403 on its subscription, anything not transient) keeps
  // that marker and the look-ups go on: the others are removed in the same sweep.
  for (const failure of [new ConfigError('ARM refused the credentials (403 AuthorizationFailed)', 'VMSS_MESH_SUBSCRIPTIONS'), new Error('unexpected answer')]) {
    asked.length = 0;
    report = await cleanupKv({ ...ctx, now: () => now }, { listedScaleSetIds: [], confirmGone: async (id) => (asked.push(id), id === idOf('a') ? Promise.reject(failure) : false) });
    assert.deepEqual(asked, names.map((n) => idOf(n)), `${failure.constructor.name}: every candidate asked`);
    assert.deepEqual([report.unconfirmed.length, report.deferred], [1, 0]);
  }
  assert.equal(names.filter((n) => consul.state.snapshot().kv.some((e) => e.key === markerKey(PREFIX, idOf(n)))).length, 3, 'every marker is kept (none confirmed gone)');

  // The look-ups start at a random place, so a candidate that always fails is not always first.
  const firsts = new Set<string>();
  for (const random of [0, 0.4, 0.7]) {
    asked.length = 0;
    await cleanupKv({ ...ctx, random: () => random }, { listedScaleSetIds: [], confirmGone: async (id) => (asked.push(id), Promise.reject(throttled)) });
    firsts.add(asked[0]!);
  }
  assert.equal(firsts.size, 3);
});

test('a sweep whose first cleanup look-up ARM throttles makes no further look-up; the next sweep removes both markers', async (t) => {
  const w = await sweepWorld(t);
  for (const name of ['gone-1', 'gone-2']) w.arm.world.createScaleSet(scaleSetInput({ name, capacity: 1 }));
  await w.sweep();
  for (const name of ['gone-1', 'gone-2']) w.arm.world.deleteScaleSet({ subscriptionId: SUBSCRIPTION, resourceGroup: RG, name });
  w.arm.world.flush();
  assert.equal((await w.sweep()).totals.deregistered, 2);
  w.clock.now += MARKER_RETENTION_MS;

  w.arm.faults.fail(1_000, { status: 429, code: 'TooManyRequests', method: 'GET', pathIncludes: '/virtualMachineScaleSets/gone-' });
  const throttled = await w.cleaned();
  assert.equal(throttled.unconfirmed.length, 1, 'one look-up, throttled');
  assert.equal(throttled.deferred, 1, 'the other waits for the next sweep');
  assert.equal(throttled.markersRemoved, 0);

  w.arm.faults.clear();
  const next = await w.cleaned();
  assert.deepEqual([next.markersRemoved, next.unconfirmed.length, next.deferred], [2, 0, 0]);
});

test("the cleanup reads our nodes only when a marker is a candidate: a steady sweep skips that read, and a 'gone' marker of a scale set with nodes is still kept", async (t) => {
  const w = await sweepWorld(t);
  w.arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
  await w.sweep();
  const calls = t.mock.method(ConsulTransport.prototype, 'call');
  const nodeReads = () => calls.mock.calls.filter((c) => c.arguments[0].path === '/catalog/nodes').length;

  const asked: string[] = [];
  const confirmGone = async (id: string) => (asked.push(id), true);
  const steady = await w.registry.cleanupKv({ listedScaleSetIds: [idOf('web')], confirmGone });
  assert.equal(steady.markersRemoved, 0);
  assert.equal(nodeReads(), 0, 'no marker is a candidate: our nodes are not read');

  // A marker that says 'gone' (long ago) for a scale set that still has nodes, ARM not listing it:
  // a candidate by KV alone, so the nodes are read, and they keep it without asking ARM.
  await putGoneMarkers(w.consul.url, ['web']);
  w.clock.now += 2 * MARKER_RETENTION_MS;
  const withNodes = await w.registry.cleanupKv({ listedScaleSetIds: [], confirmGone });
  assert.equal(nodeReads(), 1);
  assert.equal(withNodes.markersRemoved, 0);
  assert.deepEqual(asked, []);
  assert.ok(w.kv().has(markerKey(PREFIX, idOf('web'))));
});
