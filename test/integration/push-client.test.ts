import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import type { ServiceEndpointSet } from '../../src/shared/endpoints';
import { startFakeRelay } from '../helpers/fake-relay';

const set = (consulIndex: number, addresses: string[]): ServiceEndpointSet => ({
  service: 'web',
  consulIndex,
  protocol: 'http',
  healthPath: '/healthz',
  endpoints: addresses.map((address, i) => ({
    address,
    port: 8080,
    zone: String((i % 3) + 1),
    health: i === 0 ? 'draining' : 'passing',
    weight: 1,
    instanceName: `web_${i}`,
    ...(i === 0 ? { scaleSet: '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/web', scaleSetWeight: 0 } : {}),
  })),
  policy: { retryOn: ['unavailable', '5xx'], numRetries: 2, timeoutMs: 1500 },
});

test('push: accepted, created, stale pushes ignored, all fields arrive', async (t) => {
  const relay = await startFakeRelay('s3cret');
  t.after(() => relay.close());
  const client = new GrpcPushClient({ targets: [relay.address], token: 's3cret' });
  t.after(() => client.close());

  const first = await client.publish([set(10, ['127.0.1.1', '127.0.1.2'])], 'test');
  assert.deepEqual(first, [{ target: relay.address, ok: true, services: [{ service: 'web', outcome: 'created', currentIndex: 10 }] }]);
  const held = relay.held.get('web');
  assert.equal(held?.endpoints.length, 2);
  assert.deepEqual(held?.endpoints[0], {
    address: '127.0.1.1',
    port: 8080,
    zone: '1',
    health: 'ENDPOINT_HEALTH_DRAINING',
    weight: 1,
    instanceName: 'web_0',
    scaleSet: '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/web',
    hasScaleSetWeight: true,
    scaleSetWeight: 0,
  });
  assert.deepEqual(
    [held?.endpoints[1]?.scaleSet, held?.endpoints[1]?.hasScaleSetWeight],
    ['', false],
    'no scale set, no weight',
  );
  assert.deepEqual(held?.policy, { retryOn: ['unavailable', '5xx'], numRetries: 2, perTryTimeoutMs: 0, timeoutMs: 1500 });
  assert.equal(held?.healthPath, '/healthz');
  assert.equal(relay.requests[0]?.source, 'test');

  const newer = await client.publish([set(12, ['127.0.1.2'])], 'test');
  assert.equal(newer[0]?.services?.[0]?.outcome, 'accepted');

  const stale = await client.publish([set(11, ['127.0.1.9'])], 'test');
  assert.deepEqual(stale[0]?.services?.[0], { service: 'web', outcome: 'ignored-stale', currentIndex: 12 });
  assert.deepEqual(relay.held.get('web')?.endpoints.map((e) => e.address), ['127.0.1.2']);
});

test('push: a wrong token is reported, not thrown', async (t) => {
  const relay = await startFakeRelay('right');
  t.after(() => relay.close());
  const client = new GrpcPushClient({ targets: [relay.address], token: 'wrong' });
  t.after(() => client.close());
  const [result] = await client.publish([set(1, ['127.0.1.1'])], 'test');
  assert.equal(result?.ok, false);
  assert.match(result?.error ?? '', /^UNAUTHENTICATED: push token missing or wrong$/);
  assert.equal(relay.held.size, 0);
});

test('push: a relay that is down fails within the deadline and the others still get the push', async (t) => {
  const relay = await startFakeRelay('tok');
  t.after(() => relay.close());
  // A port that was free a moment ago: nothing listens there.
  const deadPort = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const client = new GrpcPushClient({ targets: [`127.0.0.1:${deadPort}`, relay.address], token: 'tok', timeoutMs: 500 });
  t.after(() => client.close());
  const started = Date.now();
  const results = await client.publish([set(3, ['127.0.1.1'])], 'test');
  assert.ok(Date.now() - started < 5000);
  assert.equal(results[0]?.ok, false);
  assert.match(results[0]?.error ?? '', /UNAVAILABLE|DEADLINE_EXCEEDED/);
  assert.equal(results[1]?.ok, true);
  assert.equal(relay.held.get('web')?.consulIndex, 3);
});

test('push: nothing to push makes no call', async (t) => {
  const relay = await startFakeRelay('tok');
  t.after(() => relay.close());
  const client = new GrpcPushClient({ targets: [relay.address], token: 'tok' });
  t.after(() => client.close());
  assert.deepEqual(await client.publish([], 'test'), []);
  assert.equal(relay.requests.length, 0);
});
