/**
 * Flexible listing (issue 12): however the NICs are read — one GET each, the resource group's
 * listing, the cheaper of the two, or a group listing shared by concurrent listings — the
 * instances are the same. Worlds are generated: several Flexible scale sets in one resource group
 * (some instances draining, NICs with several IP configurations), neighbours in the same group
 * and in another one, ARM pages of 2 so every listing pages.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startArmEmulator } from '../../src/sandbox/arm-emulator';
import type { ArmEmulator } from '../../src/sandbox/arm-emulator';
import { createArmClients, listInstances, NicGroupReads } from '../../src/shared/azure';
import type { ArmClients, ListInstancesOptions } from '../../src/shared/azure';
import type { Instance, InstanceListing, MeshScaleSet } from '../../src/shared/model';
import { SUBSCRIPTION, TOKEN, WEB_TAGS, meshScaleSetOf } from '../helpers/arm-fixture';

const RUNS = Number(process.env.VMSS_MESH_PROPERTY_RUNS ?? 25);

let arm: ArmEmulator;
let clients: ArmClients;
let worldNumber = 0;

before(async () => {
  arm = await startArmEmulator({ pageSize: 2, token: TOKEN, rateLimits: false, world: { lifecycle: { createDelayMs: 0, drainMs: 3_600_000 } } });
  clients = createArmClients({ endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION }, { caPem: arm.caPem, retry: { retryDelayInMs: 10, maxRetryDelayInMs: 50 } });
});
after(() => arm.close());

interface SetSpec {
  readonly capacity: number;
  readonly nics: number;
  readonly ipConfigs: number;
  /** Instances (by position) put into Deleting. */
  readonly draining: readonly number[];
}

const setSpec = fc.record({
  capacity: fc.integer({ min: 0, max: 6 }),
  nics: fc.integer({ min: 1, max: 3 }),
  ipConfigs: fc.integer({ min: 1, max: 2 }),
  draining: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 2 }),
});

const worldSpec = fc.record({
  flexible: fc.array(setSpec, { minLength: 1, maxLength: 4 }),
  uniformNeighbour: fc.option(setSpec, { nil: undefined }),
  elsewhere: fc.option(setSpec, { nil: undefined }),
});

/** Builds the generated world in fresh resource groups; answers the mesh view of its Flexible sets. */
function build(spec: { readonly flexible: readonly SetSpec[]; readonly uniformNeighbour: SetSpec | undefined; readonly elsewhere: SetSpec | undefined }): MeshScaleSet[] {
  worldNumber += 1;
  const rg = `rg-world-${worldNumber}`;
  const create = (name: string, s: SetSpec, mode: 'Flexible' | 'Uniform', resourceGroup = rg) => {
    const made = arm.world.createScaleSet({
      subscriptionId: SUBSCRIPTION,
      resourceGroup,
      name,
      tags: WEB_TAGS,
      capacity: s.capacity,
      orchestrationMode: mode,
      nicsPerInstance: s.nics,
      ipConfigurationsPerNic: s.ipConfigs,
      zones: ['1', '2'],
    });
    const instances = arm.world.listInstances(made.id);
    const draining = s.draining.flatMap((i) => (instances[i] ? [instances[i].instanceId] : []));
    if (draining.length > 0) arm.world.deleteInstances(made.id, draining);
    return arm.world.getScaleSet(made.id)!;
  };
  const sets = spec.flexible.map((s, i) => create(`flex${i}`, s, 'Flexible'));
  if (spec.uniformNeighbour) create('uniform', spec.uniformNeighbour, 'Uniform');
  if (spec.elsewhere) create('far', spec.elsewhere, 'Flexible', `${rg}-elsewhere`);
  // meshScaleSetOf takes the capacity ARM reports (draining instances excluded): a set whose
  // instances all drain still lists them.
  return sets.map((s) => meshScaleSetOf(s));
}

function instancesOf(listing: InstanceListing): Instance[] {
  assert.equal(listing.status, 'complete', listing.status === 'unknown' ? listing.reason : '');
  return listing.status === 'complete' ? [...listing.instances].sort((a, b) => a.resourceId.localeCompare(b.resourceId)) : [];
}

const list = async (set: MeshScaleSet, options: ListInstancesOptions) => instancesOf(await listInstances(clients, set, { now: () => 0, ...options }));

test('every way of reading a Flexible set’s NICs lists the same instances (generated worlds)', async () => {
  await fc.assert(
    fc.asyncProperty(worldSpec, async (spec) => {
      const sets = build(spec);
      for (const set of sets) {
        const byGets = await list(set, { nicStrategy: 'get' });
        assert.deepEqual(await list(set, { nicStrategy: 'list' }), byGets);
        assert.deepEqual(await list(set, { nicStrategy: 'auto' }), byGets);
        assert.deepEqual(await list(set, { nicStrategy: 'auto', nicGetThreshold: 1 }), byGets);
        // Every instance has the IPs the emulator gave it, in the same order whichever way.
        const emulated = arm.world.listInstances(set.ref.id);
        assert.equal(byGets.length, emulated.length);
        for (const e of emulated) {
          const got = byGets.find((i) => i.resourceId === e.id.toLowerCase());
          assert.deepEqual(got?.privateIps, e.nics.flatMap((n) => n.ipConfigurations.map((c) => c.privateIp)));
        }
      }
      // Concurrent listings sharing one inventory's reads: the same instances, and at most one
      // listing of the resource group for all of them (each started before it did).
      const reads = new NicGroupReads();
      arm.requests.clear();
      const shared = await Promise.all(sets.map((set) => list(set, { nicReads: reads })));
      const groupListings = arm.requests.count({ route: 'nic.list' }) - arm.requests.entries.filter((r) => r.route === 'nic.list' && r.query['$skiptoken'] !== undefined).length;
      assert.ok(groupListings <= 1, `${groupListings} listings of the resource group`);
      for (const [i, set] of sets.entries()) assert.deepEqual(shared[i], await list(set, { nicStrategy: 'get' }));
    }),
    { numRuns: RUNS },
  );
});

test('a group listing is joined only by listings whose VM reads started before it; a failed one by nobody', async () => {
  const reads = new NicGroupReads();
  const before = reads.mark();
  let finish: (value: { nics: ReadonlyMap<string, never>; pages: number }) => void = () => undefined;
  const listing = reads.list('sub/rg', () => new Promise((resolve) => (finish = resolve)));
  const afterStart = reads.mark();
  assert.equal(reads.joinable('sub/rg', before), listing, 'started before the listing: joins it while it runs');
  assert.equal(reads.joinable('sub/rg', afterStart), undefined, 'started after it: would get older NICs than its VMs');
  assert.equal(reads.joinable('sub/other', before), undefined);
  assert.equal(reads.pagesOf('sub/rg'), undefined);
  finish({ nics: new Map<string, never>(), pages: 7 });
  await listing;
  assert.equal(reads.pagesOf('sub/rg'), 7);
  assert.equal(reads.joinable('sub/rg', before), listing, 'done, still fresher than that VM listing');

  const failing = reads.list('sub/rg', () => Promise.reject(new Error('ARM 500')));
  const beforeFailure = before; // older than both listings
  await assert.rejects(failing, /ARM 500/);
  assert.equal(reads.joinable('sub/rg', beforeFailure), undefined, 'a failed listing is not offered');
  assert.equal(reads.pagesOf('sub/rg'), 7, 'the last known page count stays');
});
