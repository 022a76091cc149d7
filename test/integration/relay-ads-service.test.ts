/**
 * The ADS service around the protocol: readiness, profile choice, shared bytes across streams,
 * per-stream rate limiting, graceful shutdown, bad input and hooks.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { AdsHooks } from '../../src/relay/ads/ads-hooks';
import type { OutgoingResponse } from '../../src/relay/ads/ads-responses';
import { createAdsService, type AdsServiceOptions } from '../../src/relay/ads/ads-service';
import { FakeSnapshotSource, type FakeWorld } from '../helpers/fake-snapshots';
import { HookRecorder, nodeFor, startAdsTestServer, until, type SotwReply } from '../helpers/raw-ads-client';

const WORLD: FakeWorld = { cluster: { a: 1, b: 1 }, endpoint: { a: 1, b: 1 }, listener: { l1: 1 }, route: { r1: 1 } };

async function setup(t: TestContext, options: AdsServiceOptions & { ready?: boolean; world?: FakeWorld } = {}) {
  const source = new FakeSnapshotSource({ world: options.world ?? WORLD, ready: options.ready ?? true });
  const hooks = new HookRecorder();
  const server = await startAdsTestServer(source, { hooks, ...options });
  t.after(() => server.close());
  return { source, hooks, server, client: server.client() };
}

describe('ADS service', () => {
  test('clients are answered only once the source is ready, announced or not', async (t) => {
    const { source, hooks, client } = await setup(t, { ready: false, readyPollIntervalMs: 5 });
    const s = client.sotw();
    s.send({ kind: 'cluster', names: [] });
    await until(() => hooks.requests('initial').length === 1);
    assert.equal(hooks.responses().length, 0);
    source.setReady(false); // a store that flips ready without a change event
    assert.deepEqual((await s.next()).names, ['a', 'b']);

    const announced = await setup(t, { ready: false, readyPollIntervalMs: 60_000 });
    const d = announced.client.delta();
    d.send({ kind: 'cluster' });
    await until(() => announced.hooks.requests('initial').length === 1);
    assert.equal(announced.hooks.responses().length, 0);
    announced.source.setReady(true);
    assert.deepEqual([...(await d.next()).names].sort(), ['a', 'b']);
  });

  test('the node picks the profile, and each profile gets its own snapshot', async (t) => {
    const { source, server, client } = await setup(t);
    source.publish({ cluster: { gateway: 1 } }, ['envoy-gateway']);
    source.publish({ cluster: { svc: 1 } }, ['proxyless-grpc']);
    const cases = [
      { node: { id: 'e', user_agent_name: 'envoy' }, profile: 'envoy-gateway', clusters: ['gateway'] },
      { node: { id: 'g', user_agent_name: 'gRPC Node Pure JS', cluster: 'edge-gateway' }, profile: 'proxyless-grpc', clusters: ['svc'] },
      { node: { id: 'c', cluster: 'edge-gateway' }, profile: 'envoy-gateway', clusters: ['gateway'] },
      { node: { id: 'm', user_agent_name: 'envoy', metadata: { vmss_mesh_profile: 'proxyless-grpc' } }, profile: 'proxyless-grpc', clusters: ['svc'] },
      { node: { id: 'd' }, profile: 'proxyless-grpc', clusters: ['svc'] },
    ];
    for (const c of cases) {
      const s = client.sotw(c.node);
      s.send({ kind: 'cluster', names: [] });
      assert.deepEqual((await s.next()).names, c.clusters, c.node.id);
    }
    assert.deepEqual(
      server.service.clients().map((s) => [s.nodeId, s.profile]),
      cases.map((c) => [c.node.id, c.profile]),
    );

    const refused = client.delta({ id: 'x', metadata: { vmss_mesh_profile: 'sidecar' } });
    refused.send({ kind: 'cluster' });
    const status = await refused.status();
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(status.details, 'node.metadata.vmss_mesh_profile: expected one of envoy-gateway, proxyless-grpc, got "sidecar"');
  });

  test('all streams share the same resource objects and bytes; nothing is encoded per stream', async (t) => {
    const captured: OutgoingResponse[] = [];
    const source = new FakeSnapshotSource({ world: WORLD });
    const server = await startAdsTestServer(source, {}, (definition) => {
      const sotw = definition.StreamAggregatedResources!;
      return {
        ...definition,
        StreamAggregatedResources: {
          ...sotw,
          responseSerialize: (outgoing: OutgoingResponse) => {
            captured.push(outgoing);
            return sotw.responseSerialize(outgoing);
          },
        },
      };
    });
    t.after(() => server.close());
    const client = server.client();
    const encodesBefore = source.encodes;
    const streams = Array.from({ length: 50 }, (_, i) => client.sotw(nodeFor('proxyless-grpc', `n${i}`)));
    const replies: SotwReply[] = [];
    for (const s of streams) s.send({ kind: 'cluster', names: ['*'] });
    for (const s of streams) replies.push(await s.next());
    for (const [i, s] of streams.entries()) s.ack(replies[i]!, ['*']);

    source.publish({ ...WORLD, cluster: { a: 2, b: 1 } });
    for (const s of streams) replies.push(await s.next());
    assert.equal(source.encodes, encodesBefore + 1, 'one new resource, encoded once for 50 streams');

    assert.equal(captured.length, 100);
    const byName = new Map<string, Set<unknown>>();
    for (const outgoing of captured) {
      for (const resource of outgoing.response.resources) {
        const objects = byName.get(resource.name) ?? new Set();
        objects.add(resource.bytes);
        byName.set(resource.name, objects);
      }
    }
    // "a" had two versions, "b" one: exactly that many distinct byte arrays went out.
    assert.equal(byName.get('a')?.size, 2);
    assert.equal(byName.get('b')?.size, 1);
    assert.ok(byName.get('a')!.has(source.resource('cluster', 'a')!.bytes), 'the source object itself');
    const b = source.resource('cluster', 'b')!;
    for (const reply of replies) assert.deepEqual(reply.resources.find((r) => r.name === 'b')?.bytes, Buffer.from(b.bytes));
  });

  test('a burst of versions is coalesced per stream to one update per interval, ending on the newest', async (t) => {
    const interval = 150;
    const { source, hooks, client } = await setup(t, { minSendIntervalMs: interval });
    const s = client.sotw();
    s.send({ kind: 'endpoint', names: ['a'] });
    const mark = hooks.mark();
    const first = await s.next();
    s.ack(first, ['a']);
    const burstStart = performance.now();
    for (let rev = 2; rev <= 11; rev++) {
      source.publish({ ...WORLD, endpoint: { a: rev, b: 1 } });
      await new Promise((resolve) => setImmediate(resolve));
    }
    const burstMs = performance.now() - burstStart;
    const newest = Buffer.from(source.resource('endpoint', 'a')!.bytes);
    let reply = first;
    while (!Buffer.from(reply.resources[0]!.bytes).equals(newest)) {
      reply = await s.next();
      s.ack(reply, ['a']);
    }
    // Pacing is measured where it happens, at the server's sends (client arrival times would
    // also measure how late this process got to read them on a loaded machine).
    const sends = hooks.since(mark).filter((e): e is Extract<typeof e, { hook: 'response' }> => e.hook === 'response').map((e) => e.at);
    const updates = sends.length - 1;
    // One update per interval the burst lasted, plus the trailing one with the newest version.
    const allowed = 2 + Math.floor(burstMs / interval);
    assert.ok(updates >= 1 && updates <= allowed, `10 versions over ${Math.round(burstMs)} ms became ${updates} update(s) (allowed ${allowed})`);
    for (let i = 1; i < sends.length; i++) {
      // Timers may fire up to a millisecond early in performance.now() terms.
      assert.ok(sends[i]! - sends[i - 1]! >= interval - 2, `sends ${Math.round(sends[i]! - sends[i - 1]!)} ms apart`);
    }
  });

  test('closeAllStreams ends every stream with UNAVAILABLE and refuses new ones', async (t) => {
    const { source, hooks, server, client } = await setup(t);
    const sotw = client.sotw();
    const delta = client.delta();
    sotw.send({ kind: 'cluster', names: [] });
    delta.send({ kind: 'cluster' });
    await sotw.next();
    await delta.next();
    assert.equal(server.service.clients().length, 2);

    server.service.closeAllStreams();
    for (const status of [await sotw.status(), await delta.status()]) {
      assert.equal(status.code, grpc.status.UNAVAILABLE);
      assert.equal(status.details, 'the relay is shutting down');
    }
    assert.equal(server.service.clients().length, 0);
    assert.equal(server.service.streamCount(), 0);
    assert.equal(source.listenerCount, 0, 'no longer listening to the source');
    assert.deepEqual(
      hooks.events.filter((e) => e.hook === 'closed').map((e) => e.hook === 'closed' && e.reason),
      ['relay shutting down', 'relay shutting down'],
    );

    const late = client.sotw();
    late.send({ kind: 'cluster', names: [] });
    assert.equal((await late.status()).code, grpc.status.UNAVAILABLE);
  });

  test('a request that is not a DiscoveryRequest ends the stream with INVALID_ARGUMENT', async (t) => {
    const { server } = await setup(t);
    const raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
    t.after(() => raw.close());
    const call = raw.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    call.on('error', () => undefined);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.write(Buffer.from([0xff, 0xff, 0xff])); // an unterminated varint tag
    const result = await status;
    assert.equal(result.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(result.details, 'cannot decode DiscoveryRequest: index out of range: 3 + 1 > 3');
  });

  test('hooks see opens, requests, responses and closes; a throwing hook changes nothing', async (t) => {
    const { hooks, client } = await setup(t);
    const s = client.sotw(nodeFor('proxyless-grpc', 'watched'));
    s.send({ kind: 'cluster', names: [] });
    const reply = await s.next();
    s.ack(reply, []);
    await until(() => hooks.requests('ack').length === 1);
    s.halfClose();
    await until(() => hooks.events.some((e) => e.hook === 'closed'));
    assert.deepEqual(
      hooks.events.map((e) => e.hook + (e.hook === 'request' ? `:${e.outcome}` : '')),
      ['open', 'request:initial', 'response', 'request:ack', 'closed'],
    );
    const response = hooks.responses()[0]!;
    assert.deepEqual([response.kind, response.version, response.count, response.bytes], ['cluster', reply.versionInfo, 2, reply.wireBytes]);

    const throwing: AdsHooks = {
      onStreamOpen: () => {
        throw new Error('boom');
      },
      onRequest: () => {
        throw new Error('boom');
      },
      onResponse: () => {
        throw new Error('boom');
      },
    };
    const other = await setup(t, { hooks: throwing });
    const o = other.client.sotw();
    o.send({ kind: 'cluster', names: [] });
    assert.deepEqual((await o.next()).names, ['a', 'b']);
  });

  test('options are checked', () => {
    const source = new FakeSnapshotSource();
    assert.throws(() => createAdsService(source, { minSendIntervalMs: -1 }), {
      name: 'TypeError',
      message: 'minSendIntervalMs must be a finite number ≥ 0, got -1',
    });
    assert.throws(() => createAdsService(source, { updateBatchSize: 0 }), {
      name: 'TypeError',
      message: 'updateBatchSize must be a finite number ≥ 1, got 0',
    });
    assert.equal(source.listenerCount, 0);
  });
});
