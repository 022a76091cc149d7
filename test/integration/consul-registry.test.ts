/**
 * The Consul registry against the Consul double over HTTP: claim, read back, apply in fenced
 * batches, tombstones, supersession, clashes with entries we do not own, endpoints, status views.
 * Error mapping and TLS are in consul-registry-errors.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, InvalidInputError, SupersededError } from '../../src/shared/errors';
import { AZURE_CHECK_ID, MAINTENANCE_CHECK_ID, NODE_META, markerKey, tombstoneKey } from '../../src/shared/ownership';
import { nodeChanges } from '../../src/shared/planner/node-diff';
import type { ReconcileStep } from '../../src/shared/consul';
import { ConsulRegistry, registryOptionsFrom } from '../../src/shared/consul/registry';
import { CatalogReader } from '../../src/shared/consul/catalog-reader';
import { loadConfig } from '../../src/shared/config';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { consulConfigFor, consulHttp, desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';

const vms = (n: number, services = [{ name: 'web', port: 8080 }]) =>
  Array.from({ length: n }, (_, i) => ({ name: `vm_${i}`, ip: `10.0.0.${i + 4}`, zone: String((i % 3) + 1), services }));

describe('ConsulRegistry against the Consul double', () => {
  test('registers a plan and reads it back exactly as desired (planner sees no change)', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url, { txnBatchSize: 8 });
    const ss = scaleSetId(`web-${uniqueSuffix()}`);
    const desired = vms(5, [
      { name: 'web', port: 8080 },
      { name: 'api', port: 9090 },
    ]).map((vm) => desiredNode(ss, vm));

    const session = await registry.beginReconcile(ss, 1_000);
    assert.deepEqual(session.actual, []);
    const result = await session.apply(localPlan(ss, desired, session));
    assert.equal(result.counts.registered, 5);
    assert.deepEqual(result.changedServices, ['api', 'web']);
    assert.ok(result.counts.batches >= 5, `one node (7 ops) per batch of 8, got ${result.counts.batches} batches`);
    assert.equal(result.summaryWritten, true);
    assert.ok(session.claimIndex !== undefined && result.committedIndex > session.claimIndex);

    const again = await registry.beginReconcile(ss, 2_000);
    assert.equal(again.actual.length, 5);
    for (const actual of again.actual) {
      const want = desired.find((d) => d.node === actual.node);
      assert.ok(want, `unexpected node ${actual.node}`);
      assert.deepEqual(nodeChanges(want, actual), [], `node ${actual.node} round-trips`);
    }
    assert.deepEqual(localPlan(ss, desired, again).actions, []);
  });

  test('updates only what differs, drains with the maintenance check and removes it again', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`drain-${uniqueSuffix()}`);
    const [vm0, vm1] = vms(2);
    const first = await registry.beginReconcile(ss, 1_000);
    await first.apply(localPlan(ss, [desiredNode(ss, vm0!), desiredNode(ss, vm1!)], first));

    const draining = desiredNode(ss, { ...vm0!, draining: true, status: 'critical', output: 'provisioning=Deleting' });
    const second = await registry.beginReconcile(ss, 2_000);
    const result = await second.apply(localPlan(ss, [draining, desiredNode(ss, vm1!)], second));
    assert.equal(result.counts.updated, 1);
    assert.equal(result.counts.registered, 0);
    assert.deepEqual(result.changedServices, ['web']);
    const checks = consul.state.snapshot().checks.filter((c) => c.node === draining.node);
    assert.deepEqual(
      checks.map((c) => [c.checkId, c.status]),
      [
        [MAINTENANCE_CHECK_ID, 'critical'],
        [AZURE_CHECK_ID, 'critical'],
      ].sort(),
    );

    const third = await registry.beginReconcile(ss, 3_000);
    assert.equal(third.actual.find((n) => n.node === draining.node)?.draining, true);
    await third.apply(localPlan(ss, [desiredNode(ss, vm0!), desiredNode(ss, vm1!)], third));
    const after = consul.state.snapshot().checks.filter((c) => c.node === draining.node);
    assert.deepEqual(after.map((c) => [c.checkId, c.status]), [[AZURE_CHECK_ID, 'passing']]);
  });

  test('a gone node is deregistered with a tombstone that blocks its registration until it expires', async (t) => {
    const consul = await startDouble(t);
    let now = 10_000;
    const registry = registryFor(t, consul.url, { tombstoneTtlMs: 5_000, now: () => now });
    const ss = scaleSetId(`gone-${uniqueSuffix()}`);
    const [vm0, vm1] = vms(2).map((vm) => desiredNode(ss, vm));
    const first = await registry.beginReconcile(ss, 1_000);
    await first.apply(localPlan(ss, [vm0!, vm1!], first));

    const second = await registry.beginReconcile(ss, 2_000);
    const removal = await second.apply(localPlan(ss, [vm0!], second));
    assert.equal(removal.counts.deregistered, 1);
    assert.equal(removal.counts.tombstonesWritten, 1);
    assert.equal(consul.state.snapshot().nodes.some((n) => n.node === vm1!.node), false);
    assert.equal(consul.state.snapshot().services.some((s) => s.node === vm1!.node), false, 'services go with the node');
    assert.equal(consul.state.snapshot().checks.some((c) => c.node === vm1!.node), false, 'checks go with the node');

    // A stale listing still holding vm1: the session reports the tombstone and refuses to register it.
    const third = await registry.beginReconcile(ss, 3_000);
    assert.deepEqual([...third.tombstones], [vm1!.node]);
    const forced = await third.apply({ scaleSetId: ss, actions: [{ kind: 'register', desired: vm1! }], skipped: [] });
    assert.equal(forced.counts.registered, 0);
    assert.deepEqual(
      forced.skipped.map((s) => s.reason.split(':')[0]),
      ['tombstoned'],
    );

    now += 5_000; // the tombstone expires: it is no longer reported, and registering cleans it up
    const fourth = await registry.beginReconcile(ss, 4_000);
    assert.deepEqual([...fourth.tombstones], []);
    const back = await fourth.apply({ scaleSetId: ss, actions: [{ kind: 'register', desired: vm1! }], skipped: [] });
    assert.equal(back.counts.registered, 1);
    assert.equal(back.counts.tombstonesExpired, 1);
    const prefix = tombstoneKey(registryPrefix(consul.state.snapshot().kv.map((e) => e.key)), ss, '');
    assert.equal(consul.state.snapshot().kv.some((e) => e.key.startsWith(prefix)), false);
  });

  test('a service added by hand to our node survives scale-in: only our entries go, the node is released and taken back later', async (t) => {
    const consul = await startDouble(t);
    let now = 10_000;
    const registry = registryFor(t, consul.url, { tombstoneTtlMs: 5_000, now: () => now });
    const ss = scaleSetId(`shared-${uniqueSuffix()}`);
    const [vm0, vm1] = vms(2).map((vm) => desiredNode(ss, vm));
    const first = await registry.beginReconcile(ss, 1_000);
    await first.apply(localPlan(ss, [vm0!, vm1!], first));
    // Someone attaches a service with its check, and a node check, to vm1's node by hand.
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
      body: {
        Node: vm1!.node,
        SkipNodeUpdate: true,
        Service: { ID: 'legacy', Service: 'legacy', Port: 9000 },
        Checks: [
          { CheckID: 'legacy-alive', Name: 'legacy alive', Status: 'passing', ServiceID: 'legacy' },
          { CheckID: 'disk', Name: 'disk', Status: 'passing' },
        ],
      },
    });

    const second = await registry.beginReconcile(ss, 2_000, { runId: 'run-release' });
    const shared = second.actual.find((n) => n.node === vm1!.node);
    assert.deepEqual(shared?.services.map((s) => s.id), ['web'], 'only our service is read as ours');
    assert.deepEqual(shared?.foreign, { nodeMeta: {}, serviceIds: ['legacy'], checkIds: ['disk', 'legacy-alive'] });
    const removal = await second.apply(localPlan(ss, [vm0!], second));
    assert.equal(removal.counts.deregistered, 1);
    assert.equal(removal.counts.tombstonesWritten, 1);
    assert.deepEqual(removal.changedServices, ['web']);

    const state = consul.state.snapshot();
    const node = state.nodes.find((n) => n.node === vm1!.node);
    assert.ok(node, 'the node stays for the services on it that are not ours');
    assert.equal(node.meta[NODE_META.externalSource], undefined, 'and is no longer marked ours');
    assert.equal(node.meta[NODE_META.externalProbe], 'true', 'consul-esm keeps probing it');
    assert.equal(node.meta[NODE_META.released], 'run-release', 'marked released by the run that let it go');
    assert.deepEqual(state.services.filter((s) => s.node === vm1!.node).map((s) => s.id), ['legacy']);
    assert.deepEqual(state.checks.filter((c) => c.node === vm1!.node).map((c) => c.checkId).sort(), ['disk', 'legacy-alive']);
    const [web] = await registry.serviceEndpoints(['web']);
    assert.deepEqual(web?.endpoints.map((e) => e.address), [vm0!.address], 'the relay no longer sees it');
    const raw = await consulHttp(consul.url, 'GET', `/v1/health/service/web?tag=vmss-mesh&node-meta=${NODE_META.externalSource}:vmss-mesh`);
    assert.deepEqual((raw.body as Array<{ Node: { Node: string } }>).map((e) => e.Node.Node), [vm0!.node]);
    assert.deepEqual((await registry.listOwned()).map((n) => n.node), [vm0!.node]);

    // Planned again: the released node is not ours, so nothing is planned for it and nothing counts it.
    const third = await registry.beginReconcile(ss, 3_000);
    assert.deepEqual(third.actual.map((n) => n.node), [vm0!.node]);
    assert.deepEqual(localPlan(ss, [vm0!], third).actions, []);
    // A stale listing still holding vm1 meets the tombstone, as for any removed node.
    const stale = await third.apply({ scaleSetId: ss, actions: [{ kind: 'register', desired: vm1! }], skipped: [] });
    assert.deepEqual([stale.counts.registered, stale.skipped.map((x) => x.reason.split(':')[0])], [0, ['tombstoned']]);

    now += 5_000; // the instance is re-created with the same name after the tombstone expired: it takes its node back
    const fourth = await registry.beginReconcile(ss, 4_000);
    const back = await fourth.apply({ scaleSetId: ss, actions: [{ kind: 'register', desired: vm1! }], skipped: [] });
    assert.deepEqual([back.counts.registered, back.skipped], [1, []]);
    const after = consul.state.snapshot();
    assert.equal(after.nodes.find((n) => n.node === vm1!.node)?.meta[NODE_META.externalSource], 'vmss-mesh');
    assert.equal(after.nodes.find((n) => n.node === vm1!.node)?.meta[NODE_META.released], undefined, 'the take-back removes the released mark');
    assert.deepEqual(after.services.filter((s) => s.node === vm1!.node).map((s) => s.id).sort(), ['legacy', 'web']);
    const [webBack] = await registry.serviceEndpoints(['web']);
    assert.deepEqual(webBack?.endpoints.map((e) => e.address).sort(), [vm0!.address, vm1!.address].sort());
    const fifth = await registry.beginReconcile(ss, 5_000);
    assert.deepEqual(localPlan(ss, [vm0!, vm1!], fifth).actions, [], 'read back exactly as desired');
  });

  test("consul-esm's externalNodeHealth check is not someone else's: scale-in deletes the node whole", async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`esm-${uniqueSuffix()}`);
    const [vm0, vm1] = vms(2).map((vm) => desiredNode(ss, vm));
    const first = await registry.beginReconcile(ss, 1_000);
    await first.apply(localPlan(ss, [vm0!, vm1!], first));
    // consul-esm probes every node with external-probe=true and keeps a node check on it, as it does.
    for (const vm of [vm0!, vm1!]) {
      const esm = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
        body: { Node: vm.node, SkipNodeUpdate: true, Check: { CheckID: 'externalNodeHealth', Name: 'External Node Status', Status: 'passing', Output: 'Node alive or reachable' } },
      });
      assert.equal(esm.status, 200);
    }

    const second = await registry.beginReconcile(ss, 2_000);
    assert.deepEqual(second.actual.map((n) => n.foreign), [undefined, undefined], 'nothing on the nodes is foreign');
    assert.deepEqual(localPlan(ss, [vm0!, vm1!], second).actions, [], 'and nothing differs');
    const removal = await second.apply(localPlan(ss, [vm0!], second));
    assert.equal(removal.counts.deregistered, 1);
    const state = consul.state.snapshot();
    assert.equal(state.nodes.some((n) => n.node === vm1!.node), false, 'deleted, not released');
    assert.equal(state.checks.some((c) => c.node === vm1!.node), false, "ESM's check went with it");
    assert.deepEqual(state.checks.filter((c) => c.node === vm0!.node).map((c) => c.checkId).sort(), [AZURE_CHECK_ID, 'externalNodeHealth'].sort(), 'the kept node keeps it');
    const third = await registry.beginReconcile(ss, 3_000);
    assert.deepEqual(third.actual.map((n) => n.node), [vm0!.node]);
  });

  test('a hand-registered node with our scale-set and instance meta but no released mark is never taken over', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`handmeta-${uniqueSuffix()}`);
    const [vm0, vm1] = vms(2).map((vm) => desiredNode(ss, vm));
    // Looks like a node we released (our keys except external-source), but nobody released it.
    const lookalike: Record<string, string> = { ...vm1!.nodeMeta, owner: 'ops' };
    delete lookalike[NODE_META.externalSource];
    const hand = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
      body: { Node: vm1!.node, Address: '192.168.1.1', NodeMeta: lookalike, Service: { ID: 'legacy', Service: 'legacy', Port: 9000 } },
    });
    assert.equal(hand.status, 200);
    const before = consul.state.snapshot();

    const session = await registry.beginReconcile(ss, 1_000);
    const result = await session.apply(localPlan(ss, [vm0!, vm1!], session));
    assert.equal(result.counts.registered, 1);
    assert.deepEqual(result.skipped, [
      { node: vm1!.node, reason: 'name-taken: a node with this name exists in Consul without vmss-mesh marks (registered by hand or by an agent); left untouched' },
    ]);
    const after = consul.state.snapshot();
    assert.deepEqual(after.nodes.find((n) => n.node === vm1!.node), before.nodes.find((n) => n.node === vm1!.node));
    assert.deepEqual(after.services.filter((s) => s.node === vm1!.node), before.services.filter((s) => s.node === vm1!.node));
  });

  test('a meta key added by hand to our node survives updates and never counts as a change', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`meta-${uniqueSuffix()}`);
    const [vm0] = vms(1);
    const first = await registry.beginReconcile(ss, 1_000);
    await first.apply(localPlan(ss, [desiredNode(ss, vm0!)], first));
    const held = consul.state.snapshot().nodes.find((n) => n.node === desiredNode(ss, vm0!).node)!;
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: held.node, Address: held.address, NodeMeta: { ...held.meta, 'owner-team': 'payments' } } });

    const second = await registry.beginReconcile(ss, 2_000);
    assert.deepEqual(second.actual[0]?.foreign, { nodeMeta: { 'owner-team': 'payments' }, serviceIds: [], checkIds: [] });
    assert.deepEqual(nodeChanges(desiredNode(ss, vm0!), second.actual[0]!), [], 'the planner sees only our keys');
    const unchanged = await second.apply({ scaleSetId: ss, actions: [{ kind: 'update', desired: desiredNode(ss, vm0!), actual: second.actual[0]!, changes: [] }], skipped: [] });
    assert.deepEqual([unchanged.counts.updated, unchanged.counts.unchanged], [0, 1]);

    // The zone and Azure's health change: our keys are rewritten, the hand-added one stays.
    const moved = desiredNode(ss, { ...vm0!, zone: '3', status: 'critical', output: 'health=Unhealthy' });
    const third = await registry.beginReconcile(ss, 3_000);
    const result = await third.apply(localPlan(ss, [moved], third));
    assert.equal(result.counts.updated, 1);
    const meta = consul.state.snapshot().nodes.find((n) => n.node === moved.node)?.meta;
    assert.deepEqual(meta, { ...moved.nodeMeta, 'owner-team': 'payments' });
    const fourth = await registry.beginReconcile(ss, 4_000);
    assert.deepEqual(localPlan(ss, [moved], fourth).actions, []);
  });

  test('an older listing is superseded before it claims', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url, { newRunId: () => 'run-new' });
    const ss = scaleSetId(`old-${uniqueSuffix()}`);
    await registry.beginReconcile(ss, 5_000);
    await assert.rejects(
      registry.beginReconcile(ss, 4_999, { runId: 'run-old' }),
      (error: unknown) => {
        assert.ok(error instanceof SupersededError);
        assert.equal(error.scaleSetId, ss);
        assert.equal(
          error.message,
          `reconcile run-old of ${ss} superseded before it started: run run-new already claimed it with a listing from 1970-01-01T00:00:05.000Z, not older than this one from 1970-01-01T00:00:04.999Z`,
        );
        return true;
      },
    );
    // An equally fresh listing of another run loses too; the same run seeing its own claim does not.
    await assert.rejects(registry.beginReconcile(ss, 5_000, { runId: 'run-tie' }), /superseded before it started: run run-new already claimed it/);
    const again = await registry.beginReconcile(ss, 5_000, { runId: 'run-new' });
    assert.ok((again.claimIndex ?? 0) > 0, 'claimed: the marker shows a claim, not a finished run');
  });

  test('a run superseded between batches stops; the newer run sees whole nodes only', async (t) => {
    const consul = await startDouble(t);
    const ss = scaleSetId(`race-${uniqueSuffix()}`);
    const desired = vms(4).map((vm) => desiredNode(ss, vm));
    let other: Promise<unknown> | undefined;
    const registry = registryFor(t, consul.url, {
      txnBatchSize: 6, // a registration is 3 operations: one node per transaction
      hooks: {
        beforeStep: async (step: ReconcileStep, run) => {
          // After the first batch of the old run committed, a newer run claims the scale set.
          if (run.runId === 'old' && step.kind === 'batch' && step.index === 1) {
            other = registry.beginReconcile(ss, 2_000, { runId: 'new', hooks: {} });
            await other;
          }
        },
      },
    });
    const old = await registry.beginReconcile(ss, 1_000, { runId: 'old' });
    await assert.rejects(old.apply(localPlan(ss, desired, old)), (error: unknown) => {
      assert.ok(error instanceof SupersededError);
      assert.equal(error.message, `reconcile old of ${ss} was superseded while applying: a newer listing claimed the scale set (1 transaction(s) of this run had committed)`);
      return true;
    });
    const snapshot = consul.state.snapshot();
    assert.equal(snapshot.nodes.length, 1, 'exactly the first batch (one node) committed');
    const node = snapshot.nodes[0]!.node;
    assert.equal(snapshot.services.filter((s) => s.node === node).length, 1);
    assert.equal(snapshot.checks.filter((c) => c.node === node).length, 1);
    const newer = (await other) as Awaited<ReturnType<typeof registry.beginReconcile>>;
    assert.deepEqual(
      newer.actual.map((n) => n.node),
      [node],
    );
  });

  test('a hand-registered node holding a desired name is reported and left alone; the rest commits', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`clash-${uniqueSuffix()}`);
    const desired = vms(3).map((vm) => desiredNode(ss, vm));
    const taken = desired[1]!;
    const hand = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: taken.node, Address: '192.168.1.1', NodeMeta: { owner: 'ops' } } });
    assert.equal(hand.status, 200);
    const before = consul.state.snapshot().nodes.find((n) => n.node === taken.node);

    const session = await registry.beginReconcile(ss, 1_000);
    const result = await session.apply(localPlan(ss, desired, session));
    assert.equal(result.counts.registered, 2);
    assert.deepEqual(result.skipped, [
      { node: taken.node, reason: 'name-taken: a node with this name exists in Consul without vmss-mesh marks (registered by hand or by an agent); left untouched' },
    ]);
    assert.deepEqual(
      consul.state.snapshot().nodes.find((n) => n.node === taken.node),
      before,
    );
  });

  test('a node changed behind our back after the read is skipped as changed-concurrently', async (t) => {
    const consul = await startDouble(t);
    const ss = scaleSetId(`cc-${uniqueSuffix()}`);
    const [vm0] = vms(1).map((vm) => desiredNode(ss, vm));
    const registry = registryFor(t, consul.url, {
      hooks: {
        beforeStep: async (step, run) => {
          if (run.runId === 'second' && step.kind === 'batch') {
            // Someone re-registers the node by hand, dropping our marks.
            await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: vm0!.node, Address: '10.9.9.9' } });
          }
        },
      },
    });
    const first = await registry.beginReconcile(ss, 1_000, { runId: 'first' });
    await first.apply(localPlan(ss, [vm0!], first));
    const second = await registry.beginReconcile(ss, 2_000, { runId: 'second' });
    const result = await second.apply(localPlan(ss, [], second));
    assert.equal(result.counts.deregistered, 0);
    assert.equal(result.skipped.length, 1);
    assert.match(result.skipped[0]!.reason, /^changed-concurrently: the node changed in Consul after this run read it/);
    assert.equal(consul.state.snapshot().nodes.find((n) => n.node === vm0!.node)?.address, '10.9.9.9');
  });

  test('reading our state costs requests per service, not per node', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`cost-${uniqueSuffix()}`);
    const services = [
      { name: 'web', port: 80 },
      { name: 'api', port: 81 },
    ];
    const first = await registry.beginReconcile(ss, 1_000);
    await first.apply(localPlan(ss, vms(30, services).map((vm) => desiredNode(ss, vm)), first));
    consul.state.clearRequests();
    const session = await registry.beginReconcile(ss, 2_000);
    assert.equal(session.actual.length, 30);
    const reads = consul.state.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    const expected = [
      '/v1/catalog/nodes',
      '/v1/catalog/service/api',
      '/v1/catalog/service/web',
      '/v1/catalog/services',
      '/v1/health/state/any',
      `/v1/kv/${markerKey(registryPrefix(consul.state.snapshot().kv.map((e) => e.key)), ss)}`,
      `/v1/kv/${tombstoneKey(registryPrefix(consul.state.snapshot().kv.map((e) => e.key)), ss, '')}`,
    ];
    assert.deepEqual(reads.sort(), [...expected].sort());

    // A service added by hand to every node: seen on each of them for one more request in all.
    for (const node of session.actual) {
      await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: node.node, SkipNodeUpdate: true, Service: { ID: 'legacy', Service: 'legacy', Port: 1 } } });
    }
    consul.state.clearRequests();
    const shared = await registry.beginReconcile(ss, 3_000);
    assert.ok(shared.actual.every((n) => n.foreign?.serviceIds.join() === 'legacy' && n.services.length === 2));
    const sharedReads = consul.state.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    assert.deepEqual(sharedReads.sort(), [...expected, '/v1/catalog/service/legacy'].sort());
  });

  test('entries without our marks are never read, modified or removed', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`marks-${uniqueSuffix()}`);
    // An agent-registered instance of the same service, and a foreign service on a node named like ours would be.
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
      body: { Node: 'agent-node', Address: '10.1.1.1', Service: { Service: 'web', Port: 8080 }, Check: { CheckID: 'serfHealth', Name: 'Serf', Status: 'passing' } },
    });
    const foreign = consul.state.snapshot();
    const desired = vms(2).map((vm) => desiredNode(ss, vm));
    const s1 = await registry.beginReconcile(ss, 1_000);
    assert.deepEqual(s1.actual, []);
    await s1.apply(localPlan(ss, desired, s1));
    const s2 = await registry.beginReconcile(ss, 2_000);
    assert.deepEqual(s2.actual.map((n) => n.node).sort(), desired.map((d) => d.node).sort());
    await s2.apply(localPlan(ss, [], s2));
    const after = consul.state.snapshot();
    assert.deepEqual(after.nodes, foreign.nodes);
    assert.deepEqual(after.services, foreign.services);
    assert.deepEqual(after.checks, foreign.checks);
    const endpoints = await registry.serviceEndpoints(['web']);
    assert.deepEqual(endpoints[0]?.endpoints, [], 'the agent-registered instance is not ours to publish');
  });

  test('serviceEndpoints reports health, drain, zone and protocol with the Consul index', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`ep-${uniqueSuffix()}`);
    const grpc = [{ name: 'echo', port: 50051, protocol: 'grpc' }];
    const desired = [
      desiredNode(ss, { name: 'a', ip: '10.0.0.1', zone: '1', services: grpc }),
      desiredNode(ss, { name: 'b', ip: '10.0.0.2', zone: '2', status: 'critical', services: grpc }),
      desiredNode(ss, { name: 'c', ip: '10.0.0.3', draining: true, services: grpc }),
    ];
    const session = await registry.beginReconcile(ss, 1_000);
    const applied = await session.apply(localPlan(ss, desired, session));
    const [set] = await registry.serviceEndpoints(applied.changedServices);
    assert.ok(set);
    assert.equal(set.service, 'echo');
    assert.equal(set.protocol, 'grpc');
    assert.ok(set.consulIndex >= applied.committedIndex);
    assert.deepEqual(
      set.endpoints.map((e) => [e.instanceName, e.address, e.port, e.zone, e.health, e.weight]),
      [
        ['a', '10.0.0.1', 50051, '1', 'passing', 1],
        ['b', '10.0.0.2', 50051, '2', 'critical', 1],
        ['c', '10.0.0.3', 50051, '', 'draining', 1],
      ],
    );

    // Blocking (the relay's read, through the catalog reader): returns once the registry's next
    // write changes the service past the index it was given.
    const reader = CatalogReader.connect(consulConfigFor(consul.url));
    t.after(() => reader.close());
    const watched = reader.serviceEndpoints(['echo'], { index: set.consulIndex, wait: '10s' });
    const next = await registry.beginReconcile(ss, 2_000);
    await next.apply(localPlan(ss, desired.slice(0, 2), next));
    const [changed] = await watched;
    assert.ok(changed && changed.consulIndex > set.consulIndex);
    assert.deepEqual(
      changed.endpoints.map((e) => e.instanceName),
      ['a', 'b'],
    );
  });

  test('status views: listOwned, listMarkers, hasOwnedNodes, ownedScaleSetIds', async (t) => {
    const consul = await startDouble(t);
    let now = 50_000;
    const registry = registryFor(t, consul.url, { now: () => now++ });
    const a = scaleSetId(`a-${uniqueSuffix()}`);
    const b = scaleSetId(`b-${uniqueSuffix()}`);
    const sa = await registry.beginReconcile(a, 1_000, { runId: 'ra' });
    await sa.apply(localPlan(a, vms(2).map((vm) => desiredNode(a, vm)), sa));
    await registry.beginReconcile(b, 1_500, { runId: 'rb' }); // claimed, never applied: a marker but no nodes

    assert.equal(await registry.hasOwnedNodes(a), true);
    assert.equal(await registry.hasOwnedNodes(b), false);
    assert.deepEqual(await registry.ownedScaleSetIds(), [a, b].sort());
    // Emptied by a finished reconcile: its marker stays (it fences stale listings) but needs no visit.
    const empty = await registry.beginReconcile(b, 2_000, { runId: 'rb2' });
    await empty.apply({ scaleSetId: b, actions: [], skipped: [] });
    assert.deepEqual(await registry.ownedScaleSetIds(), [a]);
    const owned = await registry.listOwned();
    assert.equal(owned.length, 2);
    assert.ok(owned.every((n) => n.nodeMeta[NODE_META.scaleSetId] === a));
    const markers = await registry.listMarkers();
    const ma = markers.find((m) => m.value?.scaleSetId === a)?.value;
    assert.equal(ma?.runId, 'ra');
    assert.equal(ma?.lastReconcile?.registered, 2);
    assert.equal(ma?.lastReconcile?.instanceCount, 2);
    const mb = markers.find((m) => m.value?.scaleSetId === b)?.value;
    assert.equal(mb?.runId, 'rb2');
    assert.equal(mb?.lastReconcile?.instanceCount, 0);
  });

  test('invalid input is refused before anything is written', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`bad-${uniqueSuffix()}`);
    await assert.rejects(registry.beginReconcile('/subscriptions/x/resourcegroups/y', 1), new InvalidInputError('not a scale set resource ID: "/subscriptions/x/resourcegroups/y"', 'scaleSetId'));
    const session = await registry.beginReconcile(ss, 1_000);
    const other = scaleSetId('other');
    await assert.rejects(
      session.apply({ scaleSetId: other, actions: [], skipped: [] }),
      new InvalidInputError(`the plan is for ${other} but this session reconciles ${ss}`, 'plan.scaleSetId'),
    );
    await assert.rejects(session.apply({ scaleSetId: ss, actions: [], skipped: [] }), /already applied/);
    const s2 = await registry.beginReconcile(ss, 2_000);
    const foreign = desiredNode(other, { name: 'x', ip: '10.0.0.9' });
    await assert.rejects(
      s2.apply({ scaleSetId: ss, actions: [{ kind: 'register', desired: foreign }], skipped: [] }),
      new InvalidInputError(`node ${foreign.node} belongs to scale set ${other}, not ${ss}`, 'plan.actions[0].desired.nodeMeta'),
    );
    assert.equal(consul.state.snapshot().nodes.length, 0);
  });

  test('a node too big for one transaction is a configuration error naming the batch size', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url, { txnBatchSize: 5 });
    const ss = scaleSetId(`big-${uniqueSuffix()}`);
    const session = await registry.beginReconcile(ss, 1_000);
    const node = desiredNode(ss, { name: 'big', ip: '10.0.0.1', services: [{ name: 'a', port: 1 }, { name: 'b', port: 2 }, { name: 'c', port: 3 }] });
    await assert.rejects(
      session.apply({ scaleSetId: ss, actions: [{ kind: 'register', desired: node }], skipped: [] }),
      new ConfigError(`node ${node.node} needs 5 operations plus the marker check, more than one transaction of 5 allows; raise the batch size`, 'VMSS_MESH_TXN_BATCH_SIZE'),
    );
  });
});

/** The random KV prefix a test registry uses, recovered from the keys it wrote. */
function registryPrefix(keys: readonly string[]): string {
  const key = keys.find((k) => k.includes('/scale-sets/'));
  assert.ok(key, 'the registry wrote a marker');
  return key.slice(0, key.indexOf('/scale-sets/'));
}

test('registry: a marker stamped far in the future (a host with a wrong clock) does not lock the scale set', async (t) => {
  const consul = await startConsulDouble();
  t.after(() => consul.close());
  const now = 10_000_000;
  const registry = new ConsulRegistry({ ...registryOptionsFrom(loadConfig({ VMSS_MESH_SUBSCRIPTIONS: 's', CONSUL_HTTP_ADDR: consul.url })), now: () => now });
  t.after(() => registry.close());
  const ss = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/skew';
  await registry.beginReconcile(ss, now + 24 * 3_600_000); // a run whose clock is a day ahead
  // A run with a sane clock can still claim: the future marker counts as stale.
  const session = await registry.beginReconcile(ss, now);
  assert.ok((session.claimIndex ?? 0) > 0);
  // Within the skew allowance, the newer listing still wins as usual.
  await registry.beginReconcile(ss, now + 60_000);
  await assert.rejects(registry.beginReconcile(ss, now + 30_000), (e: unknown) => e instanceof SupersededError);
});
