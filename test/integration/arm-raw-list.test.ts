/**
 * The hot listings read ARM's JSON through the SDK client's pipeline (arm-raw-list.ts) instead of
 * the SDK's list operations: same instances, same requests, same failures. Each comparison runs the
 * listing twice against one world — once with the real clients, once with clients whose REST layer
 * is hidden, which makes the code take the SDK's own list operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listInstances, NicGroupReads } from '../../src/shared/azure';
import type { ArmClients, ListInstancesOptions } from '../../src/shared/azure';
import { rawListing } from '../../src/shared/azure/arm-raw-list';
import type { ArmEmulator, RequestRecord } from '../../src/sandbox/arm-emulator';
import type { InstanceListing, MeshScaleSet } from '../../src/shared/model';
import { meshScaleSetOf, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

/** The same clients, but each SDK client without `_client`: listings then go through the SDK operations. */
function sdkOnly(clients: ArmClients): ArmClients {
  const hide = <T extends object>(client: T): T => new Proxy(client, { get: (target, key) => (key === '_client' ? undefined : Reflect.get(target, key, target)) });
  const wrap = (c: ArmClients): ArmClients => ({ ...c, compute: hide(c.compute), network: hide(c.network), forSubscription: (id) => wrap(c.forSubscription(id)) });
  return wrap(clients);
}

function requestsOf(arm: ArmEmulator): string[] {
  return arm.requests.entries
    .map((r: RequestRecord) => `${r.method} ${r.path.toLowerCase()} ${JSON.stringify(Object.entries(r.query).sort())} → ${r.status}`)
    .sort();
}

async function both(arm: ArmEmulator, clients: ArmClients, scaleSet: MeshScaleSet, options: () => ListInstancesOptions = () => ({})) {
  arm.requests.clear();
  const raw = await listInstances(clients, scaleSet, { ...options(), now: () => 1 });
  const rawRequests = requestsOf(arm);
  arm.requests.clear();
  const sdk = await listInstances(sdkOnly(clients), scaleSet, { ...options(), now: () => 1 });
  return { raw, sdk, rawRequests, sdkRequests: requestsOf(arm) };
}

function complete(listing: InstanceListing) {
  assert.equal(listing.status, 'complete', listing.status === 'unknown' ? listing.reason : '');
  return listing.status === 'complete' ? listing.instances : [];
}

test('the installed SDK clients have the REST layer the raw listings use (else every listing falls back to the slow path)', async (t) => {
  const { clients } = await startArmFixture(t);
  assert.ok(rawListing(clients.compute, { path: '/x', apiVersion: 'v' }));
  assert.ok(rawListing(clients.network, { path: '/x', apiVersion: 'v' }));
  assert.equal(rawListing(sdkOnly(clients).compute, { path: '/x', apiVersion: 'v' }), undefined);
});

test('Uniform: the raw listing gives the SDK listing’s instances with the SDK’s requests', async (t) => {
  const { arm, clients } = await startArmFixture(t, { rateLimits: false, world: { lifecycle: { createDelayMs: 0, drainMs: 3_600_000 } } });
  const made = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 5, nicsPerInstance: 2, ipConfigurationsPerNic: 2, zones: ['1', '2'] }));
  const [first, second] = arm.world.listInstances(made.id);
  arm.world.setHealth(made.id, first!.instanceId, 'Unhealthy');
  arm.world.setHealth(made.id, second!.instanceId, null);
  arm.world.deleteInstances(made.id, [arm.world.listInstances(made.id)[4]!.instanceId]);
  const { raw, sdk, rawRequests, sdkRequests } = await both(arm, clients, meshScaleSetOf(arm.world.getScaleSet(made.id)!));
  assert.equal(complete(raw).length, 5);
  assert.deepEqual(raw, sdk);
  assert.ok(complete(raw).some((i) => i.healthState === 'Unhealthy') && complete(raw).some((i) => i.healthState === undefined));
  assert.ok(complete(raw).every((i) => i.privateIps.length === 4));
  assert.deepEqual(rawRequests, sdkRequests);
});

test('Flexible (group listing and GET per NIC): the raw listing gives the SDK listing’s instances with the SDK’s requests', async (t) => {
  const { arm, clients } = await startArmFixture(t, { rateLimits: false, world: { lifecycle: { createDelayMs: 0, drainMs: 3_600_000 } } });
  const made = arm.world.createScaleSet(scaleSetInput({ name: 'flex', capacity: 5, orchestrationMode: 'Flexible', nicsPerInstance: 2, ipConfigurationsPerNic: 2, zones: ['1', '2', '3'] }));
  arm.world.createScaleSet(scaleSetInput({ name: 'neighbour', capacity: 3, orchestrationMode: 'Flexible' }));
  arm.world.setHealth(made.id, arm.world.listInstances(made.id)[0]!.instanceId, 'Unhealthy');
  arm.world.deleteInstances(made.id, [arm.world.listInstances(made.id)[1]!.instanceId]);
  const scaleSet = meshScaleSetOf(arm.world.getScaleSet(made.id)!);
  for (const nicStrategy of ['list', 'get'] as const) {
    const { raw, sdk, rawRequests, sdkRequests } = await both(arm, clients, scaleSet, () => ({ nicStrategy, nicReads: new NicGroupReads() }));
    assert.equal(complete(raw).length, 5, nicStrategy);
    assert.deepEqual(raw, sdk, nicStrategy);
    assert.ok(complete(raw).every((i) => i.privateIps.length === 4), nicStrategy);
    assert.deepEqual(rawRequests, sdkRequests, nicStrategy);
  }
});

test('failures read as the SDK’s: a 500 on a page, throttling past the budget, a denied listing, a missing resource group', async (t) => {
  // A fresh world per case: a listing cancelled by its sibling's failure may leave a request in flight.
  const cases: { name: string; flexible: boolean; arm: (arm: ArmEmulator) => void }[] = [
    { name: '500 on the second VM page', flexible: false, arm: (arm) => arm.faults.fail(1, { route: 'vmssVm.list', skip: 1 }) },
    { name: '429 beyond the budget on the NIC listing', flexible: false, arm: (arm) => arm.faults.throttle(1, { route: 'vmssNic.list', retryAfterSeconds: 30 }) },
    { name: '403 on the Flexible VM listing', flexible: true, arm: (arm) => arm.faults.fail(1, { route: 'vm.list', status: 403, code: 'AuthorizationFailed', message: 'no read' }) },
    { name: '503 on the group NIC listing', flexible: true, arm: (arm) => arm.faults.fail(1, { route: 'nic.list', status: 503, code: 'ServiceUnavailable', message: 'later', retryAfterSeconds: 7 }) },
    { name: 'no such resource group', flexible: false, arm: () => undefined },
  ];
  const listings: InstanceListing[][] = [];
  for (const c of cases) {
    const pair: InstanceListing[] = [];
    for (const clientsOf of [(x: ArmClients) => x, sdkOnly]) {
      const { arm, clients } = await startArmFixture(t, { rateLimits: false, retry: { maxRetries: 0, maxRetryAfterMs: 1_000 } });
      const made = meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 3, ...(c.flexible ? { orchestrationMode: 'Flexible' } : {}) })));
      const scaleSet = c.name === 'no such resource group' ? { ...made, ref: { ...made.ref, resourceGroup: 'rg-gone' } } : made;
      c.arm(arm);
      pair.push(await listInstances(clientsOf(clients), scaleSet, { now: () => 1, nicStrategy: 'list', nicReads: new NicGroupReads() }));
    }
    assert.equal(pair[0]!.status, 'unknown', `${c.name}: ${JSON.stringify(pair[0]).slice(0, 200)}`);
    assert.deepEqual(pair[0], pair[1], c.name);
    listings.push(pair);
  }
  // The budget's TransientError keeps its wait; a 503's Retry-After is kept as the SDK's was.
  assert.equal(listings[1]![0]!.status === 'unknown' && listings[1]![0]!.retryAfterMs, 30_000);
});
