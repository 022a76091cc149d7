import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransientError } from '../../src/shared/errors';
import { ReconcileCoalescer } from '../../src/shared/reconcile/coalescer';
import { VmScaleSetResolver, type VmResolution } from '../../src/shared/reconcile/vm-scale-set-resolver';
import { scaleSetRef, scaleSetRefFromId } from '../../src/shared/resource-id';

const RG = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg';
const SS = scaleSetRefFromId(`${RG}/providers/microsoft.compute/virtualmachinescalesets/flex`);
const vm = (n: number) => `${RG}/providers/microsoft.compute/virtualmachines/flex_${n}`;

test('resolver: concurrent look-ups of one VM share one GET; a listing answers the rest without GETs', async () => {
  const asked: string[] = [];
  const resolver = new VmScaleSetResolver({ askArm: async (id) => (asked.push(id), SS), remembered: async () => null });
  const first = await Promise.all([resolver.resolve(vm(1)), resolver.resolve(vm(1)), resolver.resolve(vm(1).toUpperCase())]);
  assert.deepEqual(asked, [vm(1)]);
  assert.ok(first.every((r) => r.kind === 'scale-set' && r.ref.id === SS.id));
  const lease = first[0]!.kind === 'scale-set' ? first[0]!.lease : undefined;
  assert.ok(lease, 'an ARM answer hands out a lease');
  // While the lease is held the group's GETs wait; the listing it waits for teaches every VM.
  const waiting = Promise.all([2, 3, 4].map((n) => resolver.resolve(vm(n))));
  const done = resolver.listingStarted(SS);
  resolver.releaseAfterListing(lease, SS, new Promise(() => undefined));
  resolver.learn(SS, [2, 3, 4].map(vm));
  done();
  const rest = await waiting;
  assert.ok(rest.every((r) => r.kind === 'scale-set' && r.via === 'cache'));
  assert.deepEqual(asked, [vm(1)], 'no further GET');
});

test('resolver: our node remembers the scale set of a deleted VM, asked only once ARM knows none', async () => {
  const order: string[] = [];
  const resolver = new VmScaleSetResolver({ askArm: async () => (order.push('arm'), null), remembered: async () => (order.push('consul'), SS.id) });
  const r = await resolver.resolve(vm(9));
  assert.equal(r.kind === 'scale-set' && r.via, 'consul');
  assert.deepEqual(order, ['arm', 'consul']);
});

test('resolver: a VM ARM knows is not looked up in Consul (a scale-out burst must not become a burst of catalog queries)', async () => {
  const resolver = new VmScaleSetResolver({ askArm: async () => SS, remembered: async () => assert.fail('no Consul query') });
  const r = await resolver.resolve(vm(8));
  assert.equal(r.kind === 'scale-set' && r.via, 'arm');
});

test('resolver: a lease nobody releases lets go by itself, so the group is not closed to ARM for good', async () => {
  const resolver = new VmScaleSetResolver({ askArm: async () => SS, remembered: async () => null }, { armLookupsPerGroup: 1, maxBusyWaitMs: 100 });
  const first = await resolver.resolve(vm(1));
  assert.ok(first.kind === 'scale-set' && first.lease, 'a lease was handed out (and is dropped here, as a waiter that gave up does)');
  // Until the lease lets go, look-ups in the group wait and may fail as busy; after it they are answered again.
  const deadline = Date.now() + 5_000;
  for (;;) {
    const next: VmResolution | Error = await resolver.resolve(vm(2)).catch((error: Error) => error);
    if (!(next instanceof Error)) {
      assert.ok(next.kind === 'scale-set' && next.via === 'arm');
      break;
    }
    assert.match(next.message, /busy for over/);
    assert.ok(Date.now() < deadline, 'the group stayed closed to ARM');
    // A refusal comes without a timer once the group is over its busy limit: poll with a pause so
    // the lease's own timer gets its turn.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
});

test('resolver: a throttled GET pauses the group: the next look-ups fail at once, without ARM', async () => {
  let clock = 0;
  let calls = 0;
  const resolver = new VmScaleSetResolver(
    { askArm: async () => { calls += 1; throw new TransientError('ARM throttled', 'arm', 3000); }, remembered: async () => null },
    { now: () => clock },
  );
  await assert.rejects(resolver.resolve(vm(1)), /ARM throttled/);
  await assert.rejects(resolver.resolve(vm(2)), /paused for 3 s/);
  assert.equal(calls, 1);
  clock = 3000;
  await assert.rejects(resolver.resolve(vm(3)), /ARM throttled/);
  assert.equal(calls, 2);
});

test('coalescer: requestWithin answers queued at the deadline, and the run goes on', async () => {
  let finish!: (v: number) => void;
  const c = new ReconcileCoalescer(() => new Promise<number>((resolve) => (finish = resolve)), { coverMarginMs: 0 });
  const outcome = await c.requestWithin(scaleSetRef('s1', 'rg', 'a'), undefined, { deadlineAt: Date.now() + 20, maxBusyMs: 60_000 });
  assert.equal(outcome.via, 'queued');
  // A later request for the same key while it is busy past the limit does not wait at all.
  const later = await c.requestWithin(scaleSetRef('s1', 'rg', 'a'), undefined, { deadlineAt: Date.now() + 60_000, maxBusyMs: 0 });
  assert.equal(later.via, 'queued');
  finish(7);
  assert.equal(outcome.via === 'queued' && (await outcome.pending), 7);
});
