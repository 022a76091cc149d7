/**
 * Principle 4 (unknown is not empty) and the removal cap, through the real reconciler, the real
 * Consul registry and the Consul double; ARM is the emulator (or, for the cap, an inventory whose
 * listing is wrong in a way the emulator cannot be: ARM listing fewer VMs than exist).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION, type LocalWorld } from '../../src/sandbox/local-world';
import { createAppRuntime } from '../../src/functions/app-runtime';
import { loadConfig } from '../../src/shared/config';
import { TransientError } from '../../src/shared/errors';
import { ConsulRegistry, registryOptionsFrom } from '../../src/shared/consul/registry';
import { noRelayPublisher } from '../../src/shared/endpoints';
import type { Instance, MeshScaleSet, ReconcileHint } from '../../src/shared/model';
import type { InventoryPort } from '../../src/shared/reconcile/ports';
import { Reconciler } from '../../src/shared/reconcile/reconciler';
import { scaleSetRef } from '../../src/shared/resource-id';
import { startConsulDouble } from '../../src/sandbox/consul-double';

const selector = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'api' };
const tags = { 'vmss-mesh-service': 'api', 'vmss-mesh-port': '9090', 'vmss-mesh-protocol': 'grpc' };
let eventCounter = 0;
const hint = (): ReconcileHint => ({
  target: { kind: 'scale-set', ref: scaleSetRef(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP, 'api') },
  reason: 'test',
  eventTime: new Date(Date.now() + 60_000).toISOString(), // never "covered" by an earlier run
  eventId: `t-${++eventCounter}`,
});

/** The app's own wiring (functions/app-runtime.ts) from the world's settings, closed after the test. */
function appReconciler(t: TestContext, world: LocalWorld): Reconciler {
  const runtime = createAppRuntime(loadConfig(world.settings), world.settings);
  t.after(() => runtime.close());
  return runtime.reconciler;
}

async function registeredAddresses(consulUrl: string): Promise<string[]> {
  const entries = (await (await fetch(`${consulUrl}/v1/catalog/service/api`)).json()) as Array<{ Address: string }>;
  return entries.map((e) => e.Address).sort();
}

test('a failed or throttled listing deregisters nothing', async (t) => {
  const world = await startLocalWorld({ settings: { VMSS_MESH_ARM_TOKEN: 'sandbox-token' } });
  t.after(() => world.close());
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...selector, capacity: 3, tags });
  const reconciler = appReconciler(t, world);
  const first = await reconciler.reconcileHint(hint());
  assert.equal(first.kind === 'reconciled' && first.result.registered, 3);
  const before = await registeredAddresses(world.consul.url);

  world.arm.world.scale(selector, 1); // ARM really shrinks…
  world.arm.world.flush();
  world.arm.faults.fail(10, { status: 500, pathIncludes: '/api/virtualMachines' }); // …but listing it fails
  const markerBefore = world.consul.state.snapshot().kv.find((e) => e.key.includes('/scale-sets/'));
  // The trigger is told to come back later (Event Grid retries), and nothing changed meanwhile —
  // not even the claim, which would fence off a concurrent run that did get a complete listing.
  await assert.rejects(reconciler.reconcileHint(hint()), (error: unknown) => error instanceof TransientError && /ARM could not list .*\/api: listing scale set api/.test(error.message));
  assert.deepEqual(await registeredAddresses(world.consul.url), before);
  assert.equal(world.consul.state.snapshot().kv.find((e) => e.key.includes('/scale-sets/'))?.modifyIndex, markerBefore?.modifyIndex);

  world.arm.faults.clear();
  world.arm.faults.throttle(50, { retryAfterSeconds: 60, pathIncludes: '/api/virtualMachines' });
  await assert.rejects(reconciler.reconcileHint(hint()), (error: unknown) => error instanceof TransientError && error.retryAfterMs === 60_000);
  assert.deepEqual(await registeredAddresses(world.consul.url), before);

  world.arm.faults.clear();
  const healed = await reconciler.reconcileHint(hint());
  assert.ok(healed.kind === 'reconciled');
  assert.equal(healed.result.deregistered, 2);
  assert.equal((await registeredAddresses(world.consul.url)).length, 1);
  assert.ok(healed.result.armCalls >= 3, `ARM calls are counted (${healed.result.armCalls})`);
});

test('mistyped mesh tags change nothing (a typo is not a decision to leave the mesh)', async (t) => {
  const world = await startLocalWorld();
  t.after(() => world.close());
  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ ...selector, capacity: 2, tags });
  const reconciler = appReconciler(t, world);
  await reconciler.reconcileHint(hint());
  world.arm.world.setTags(selector, { ...tags, 'vmss-mesh-port': '90g0' });
  const result = await reconciler.reconcileHint(hint());
  assert.ok(result.kind === 'reconciled');
  assert.equal(result.result.outcome, 'unknown');
  assert.match(result.result.detail ?? '', /vmss-mesh-port/);
  assert.equal((await registeredAddresses(world.consul.url)).length, 2);

  world.arm.world.setTags(selector, {}); // removing the tags is a decision: deregister
  const left = await reconciler.reconcileHint(hint());
  assert.ok(left.kind === 'reconciled');
  assert.equal(left.result.deregistered, 2);
  assert.deepEqual(await registeredAddresses(world.consul.url), []);

  // Known once (its marker is there): later hints still claim it, fencing off older runs in flight.
  const markerIndex = () => world.consul.state.snapshot().kv.find((e) => e.key.endsWith('/api'))?.modifyIndex ?? 0;
  const before = markerIndex();
  const again = await reconciler.reconcileHint(hint());
  assert.ok(again.kind === 'reconciled');
  assert.equal(again.result.outcome, 'unchanged');
  assert.ok(markerIndex() > before, 'the scale set was claimed');

  // Never in the mesh: nothing is written for it.
  world.arm.world.createScaleSet({ ...selector, name: 'other', capacity: 1, tags: {} });
  const kvBefore = world.consul.state.snapshot().kv.length;
  const other = await reconciler.reconcileHint({ ...hint(), target: { kind: 'scale-set', ref: scaleSetRef(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP, 'other') } });
  assert.ok(other.kind === 'reconciled');
  assert.equal(other.result.outcome, 'not-in-mesh');
  assert.equal(world.consul.state.snapshot().kv.length, kvBefore);
});

/** An inventory under the test's control: ARM's answers are whatever the test says. */
function scriptedInventory(scaleSet: MeshScaleSet) {
  const state = { instances: [] as Instance[], gone: new Set<string>(), confirmCalls: 0 };
  const inventory: InventoryPort = {
    lookupScaleSet: async () => ({ state: 'in-mesh', scaleSet }),
    isListedInResourceGroup: async () => true,
    listInstances: async () => ({ status: 'complete', listedAt: Date.now(), instances: state.instances }),
    confirmGone: async (_s, ids) => {
      state.confirmCalls += 1;
      // ARM answers 404 for the gone ones and nothing (a failed GET) for the others.
      return { gone: new Set(ids.filter((id) => state.gone.has(id))), present: new Set<string>() };
    },
    scaleSetOfVm: async () => null,
    listMeshScaleSets: async () => ({ scaleSets: [scaleSet], skipped: [] }),
    measureCalls: async (work) => ({ result: await work(), calls: 0 }),
  };
  return { state, inventory };
}

/** A Consul double and registry, and the `api` scale set (capacity as given) under a scripted inventory. */
async function scriptedWorld(t: TestContext, capacity: number, settings: Record<string, string> = {}) {
  const consul = await startConsulDouble();
  t.after(() => consul.close());
  const config = loadConfig({ VMSS_MESH_SUBSCRIPTIONS: SANDBOX_SUBSCRIPTION, CONSUL_HTTP_ADDR: consul.url, ...settings });
  const registry = new ConsulRegistry(registryOptionsFrom(config));
  t.after(() => registry.close());
  const ref = scaleSetRef(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP, 'api');
  const scaleSet: MeshScaleSet = { ref, orchestrationMode: 'Uniform', capacity, location: 'westeurope', tags, services: [{ name: 'api', port: 9090, protocol: 'grpc' }] };
  return { consul, registry, ref, ...scriptedInventory(scaleSet) };
}

test('removal cap: unconfirmed removals are capped per run; ARM-confirmed ones are not', async (t) => {
  const { consul, registry, ref, state, inventory } = await scriptedWorld(t, 4, { VMSS_MESH_TOMBSTONE_TTL_SECONDS: '0' });
  const reconciler = new Reconciler({ inventory, registry, publisher: noRelayPublisher, maxRemovalShare: 0.5 });
  state.instances = [0, 1, 2, 3].map((n) => ({
    name: `api_${n}`,
    instanceId: String(n),
    resourceId: `${ref.id}/virtualmachines/${n}`,
    privateIps: [`127.0.9.${n + 1}`],
    provisioningState: 'Succeeded',
    powerState: 'running',
  }));
  await reconciler.reconcileHint(hint());
  assert.equal((await registeredAddresses(consul.url)).length, 4);

  // The listing suddenly shows one VM, but ARM still answers 200 for the other three.
  state.instances = state.instances.slice(0, 1);
  const capped = await reconciler.reconcileHint(hint());
  assert.ok(capped.kind === 'reconciled');
  assert.equal(capped.result.deregistered, 2, 'at most 50 % of 4 removed unconfirmed');
  assert.equal(capped.result.skipped.filter((s) => s.reason.startsWith('removal-cap')).length, 1);
  assert.equal(state.confirmCalls, 1, 'the capped removal was checked with ARM');
  assert.equal((await registeredAddresses(consul.url)).length, 2);

  // ARM now confirms the last one gone (404): it goes regardless of the cap.
  state.gone.add(`${ref.id}/virtualmachines/3`);
  state.gone.add(`${ref.id}/virtualmachines/2`);
  state.gone.add(`${ref.id}/virtualmachines/1`);
  const confirmed = await reconciler.reconcileHint(hint());
  assert.ok(confirmed.kind === 'reconciled');
  assert.deepEqual(await registeredAddresses(consul.url), ['127.0.9.1']);
});

test('a 404 whose confirming GET fails removes nothing and retries the trigger', async (t) => {
  const { consul, registry, ref, state, inventory } = await scriptedWorld(t, 1);
  state.instances = [{ name: 'api_0', instanceId: '0', resourceId: `${ref.id}/virtualmachines/0`, privateIps: ['127.0.9.1'], provisioningState: 'Succeeded', powerState: 'running' }];
  const answers: Array<() => Promise<Awaited<ReturnType<InventoryPort['lookupScaleSet']>>>> = [];
  const lookups = { count: 0 };
  const scripted: InventoryPort = {
    ...inventory,
    lookupScaleSet: async (r) => {
      lookups.count += 1;
      return (answers.shift() ?? (() => inventory.lookupScaleSet(r)))();
    },
  };
  const reconciler = new Reconciler({ inventory: scripted, registry, publisher: noRelayPublisher, maxRemovalShare: 0.5, confirmGoneDelayMs: 1 });
  await reconciler.reconcileHint(hint());
  assert.deepEqual(await registeredAddresses(consul.url), ['127.0.9.1']);

  answers.push(
    async () => ({ state: 'not-found' }),
    async () => {
      throw new TransientError('ARM throttled the confirming GET', 'arm', 5_000);
    },
  );
  await assert.rejects(reconciler.reconcileHint(hint()), (error: unknown) => error instanceof TransientError && error.retryAfterMs === 5_000);
  assert.equal(lookups.count, 3, 'the first reconcile’s GET, the 404 and its confirmation');
  assert.deepEqual(await registeredAddresses(consul.url), ['127.0.9.1']);

  // A bad delay is a programming error found at construction, not an invalid event: an
  // InvalidInputError per run would acknowledge (drop) every event instead of failing loudly.
  assert.throws(() => new Reconciler({ inventory: scripted, registry, publisher: noRelayPublisher, maxRemovalShare: 0.5, confirmGoneDelayMs: -1 }), {
    name: 'TypeError',
    message: /confirmGoneDelayMs.*got -1/,
  });
});

test('a queued run is reported once, however many hints stopped waiting for it (the trailing run and the run it became)', async (t) => {
  const { registry, ref, state, inventory } = await scriptedWorld(t, 1);
  state.instances = [{ name: 'api_0', instanceId: '0', resourceId: `${ref.id}/virtualmachines/0`, privateIps: ['127.0.9.1'], provisioningState: 'Succeeded', powerState: 'running' }];
  // Each listing waits until the test lets it go, so hints give up waiting (deadline 50 ms).
  const held: Array<() => void> = [];
  const listings = { started: [] as number[] };
  const gated: InventoryPort = {
    ...inventory,
    listInstances: async (s) => {
      listings.started.push(Date.now());
      await new Promise<void>((resolve) => held.push(resolve));
      return inventory.listInstances(s);
    },
  };
  const reported: string[] = [];
  const reconciler = new Reconciler(
    { inventory: gated, registry, publisher: noRelayPublisher, maxRemovalShare: 0.5 },
    { hintDeadlineMs: 50, coverMarginMs: 0, onQueuedOutcome: (o) => reported.push(o.scaleSetId) },
  );
  const at = (eventTime: number): ReconcileHint => ({ ...hint(), eventTime: new Date(eventTime).toISOString() });
  const waitFor = async (condition: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  // Run A starts; a later event queues the trailing run behind it; both hints give up waiting.
  const first = await reconciler.reconcileHint(at(Date.now()));
  assert.equal(first.kind, 'queued');
  const second = await reconciler.reconcileHint(at(Date.now() + 1));
  assert.equal(second.kind, 'queued', 'held by the trailing run');
  held.shift()?.();
  await waitFor(() => held.length === 1, 'the trailing run to start listing');
  // A hint that the started trailing run covers joins it directly (another promise of the same run).
  const third = await reconciler.reconcileHint(at(listings.started[1]!));
  assert.equal(third.kind, 'queued');
  held.shift()?.();
  await waitFor(() => reported.length >= 2, 'both runs reported');
  await new Promise((r) => setImmediate(r));
  assert.equal(reported.length, 2, `one report per run, got ${reported.length}`);
});
