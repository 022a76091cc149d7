/**
 * Throttling end to end: the SDK's retry policy honours Retry-After (we measure the wait), our
 * budget caps the total wait, and what is left is a TransientError('arm') carrying retryAfterMs,
 * or an `unknown` listing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TransientError } from '../../src/shared/errors';
import { getScaleSet, listInstances } from '../../src/shared/azure';
import { meshScaleSetOf, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

describe('ARM throttling', () => {
  test('a 429 on a page is retried after Retry-After and the listing completes', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 5 }));
    arm.faults.throttle(1, { route: 'vmssVm.list', skip: 1, retryAfterSeconds: 1 });

    const { result, stats } = await clients.measureCalls(() => listInstances(clients, meshScaleSetOf(ss)));

    assert.equal(result.status, 'complete');
    assert.equal(result.status === 'complete' ? result.instances.length : 0, 5);
    const vmPages = arm.requests.filter({ route: 'vmssVm.list' });
    assert.deepEqual(vmPages.map((r) => r.status), [200, 429, 200, 200]);
    const [, throttled, retried] = vmPages;
    assert.ok(throttled && retried);
    const waited = retried.at - throttled.at;
    assert.ok(waited >= 950 && waited < 2500, `retry came ${waited} ms after the 429, expected about 1000 ms`);
    assert.equal(retried.query['$skiptoken'], throttled.query['$skiptoken']);
    assert.deepEqual(stats, { requests: 7, throttled: 1, failed: 0 });
  });

  test('the per-subscription token bucket throttles and the SDK waits it out', async (t) => {
    const { arm, clients } = await startArmFixture(t, { rateLimits: { reads: { capacity: 2, refillPerSecond: 1 } } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    const ref = meshScaleSetOf(ss).ref;

    const started = Date.now();
    for (let i = 0; i < 3; i += 1) assert.equal((await getScaleSet(clients, ref)).state, 'in-mesh');

    assert.deepEqual(arm.requests.entries.map((r) => r.status), [200, 200, 429, 200]);
    assert.ok(Date.now() - started >= 950, 'the third read waited for a token');
  });

  test('a Retry-After beyond the budget fails at once with TransientError carrying retryAfterMs', async (t) => {
    const { arm, clients } = await startArmFixture(t, { retry: { maxRetryAfterMs: 500 } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    arm.faults.throttle(1, { route: 'vmss.get', retryAfterSeconds: 30 });

    const started = Date.now();
    const error = await getScaleSet(clients, meshScaleSetOf(ss).ref).then(
      () => assert.fail('expected a TransientError'),
      (e: unknown) => e,
    );

    assert.ok(error instanceof TransientError);
    assert.equal(
      error.message,
      'ARM throttled GET /subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-mesh/providers/Microsoft.Compute/virtualMachineScaleSets/web (429): Retry-After 30 s would exceed the 0.5 s retry budget (already waited 0 s)',
    );
    assert.equal(error.dependency, 'arm');
    assert.equal(error.retryAfterMs, 30_000);
    assert.ok(Date.now() - started < 1000, 'did not sleep');
    assert.equal(arm.requests.entries.length, 1);
  });

  test('still throttled after every retry: TransientError with the last Retry-After', async (t) => {
    const { arm, clients } = await startArmFixture(t, { retry: { maxRetries: 2 } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    arm.faults.throttle(3, { route: 'vmss.get', retryAfterSeconds: 0 });

    await assert.rejects(getScaleSet(clients, meshScaleSetOf(ss).ref), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.message, 'ARM throttled reading scale set web (resource group rg-mesh, subscription 00000000-0000-4000-8000-000000000001) (429 TooManyRequests); retry after 0 s');
      assert.equal(error.retryAfterMs, 0);
      return true;
    });
    assert.equal(arm.requests.count({ route: 'vmss.get', status: 429 }), 3);
  });

  test('a throttled listing past the budget is unknown, not empty', async (t) => {
    const { arm, clients } = await startArmFixture(t, { retry: { maxRetryAfterMs: 500 } });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    arm.faults.throttle(1, { route: 'vmssVm.list', retryAfterSeconds: 60 });

    const listing = await listInstances(clients, meshScaleSetOf(ss));

    assert.equal(listing.status, 'unknown');
    assert.match(listing.status === 'unknown' ? listing.reason : '', /^listing scale set web: ARM throttled GET \S+\/virtualMachineScaleSets\/web\/virtualMachines \(429\): Retry-After 60 s would exceed the 0.5 s retry budget \(already waited 0 s\)$/);
  });
});
