/**
 * Delta (incremental) ADS protocol rules, checked with a raw client built on Envoy's protos
 * against a server on 127.0.0.1:0 fed by a controllable fake snapshot source.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { ResourceKind } from '../../src/relay/xds/resource-kind';
import { FakeSnapshotSource, type FakeWorld } from '../helpers/fake-snapshots';
import { HookRecorder, nodeFor, startAdsTestServer, until, type DeltaReply, type DeltaRequestInit, type RawDeltaStream } from '../helpers/raw-ads-client';

const PROBES = 20;

function world(w: FakeWorld): FakeWorld {
  const routes: Record<string, number> = { ...(w.route as Record<string, number> | undefined) };
  for (let i = 1; i <= PROBES; i++) routes[`probe-${i}`] = 1;
  return { ...w, route: routes };
}

const BASE = world({ cluster: { a: 1, b: 1 }, endpoint: { a: 1, b: 1 }, listener: { l1: 1, l2: 1 }, route: { r1: 1 } });

class Session {
  private probes = 0;

  constructor(
    readonly stream: RawDeltaStream,
    readonly hooks: HookRecorder,
  ) {}

  send(init: DeltaRequestInit): void {
    this.stream.send(init);
  }

  /** Sends and waits until the server has handled the request. */
  async sendHandled(init: DeltaRequestInit): Promise<void> {
    const mark = this.hooks.mark();
    this.stream.send(init);
    await until(() => this.hooks.since(mark).some((e) => e.hook === 'request'), 3000, 'the request handled');
  }

  next(): Promise<DeltaReply> {
    return this.stream.next();
  }

  async nextAndAck(): Promise<DeltaReply> {
    const reply = await this.stream.next();
    this.stream.ack(reply);
    return reply;
  }

  /** Proves nothing but a probe route was sent since `mark` (see the SotW tests). */
  async expectQuiet(mark: number): Promise<void> {
    const probe = `probe-${++this.probes}`;
    this.stream.send({ kind: 'route', subscribe: [probe] });
    const reply = await this.nextAndAck();
    assert.deepEqual([reply.kind, reply.names, reply.removed], ['route', [probe], []], 'the next response is the probe');
    const sent = this.hooks.since(mark).filter((e) => e.hook === 'response');
    assert.equal(sent.length, 1, `only the probe was sent, got ${JSON.stringify(sent)}`);
  }
}

async function setup(t: TestContext, w: FakeWorld = BASE) {
  const source = new FakeSnapshotSource({ world: w });
  const hooks = new HookRecorder();
  const server = await startAdsTestServer(source, { hooks });
  t.after(() => server.close());
  const client = server.client();
  const open = (id = 'envoy-1') => new Session(client.delta(nodeFor('envoy-gateway', id)), hooks);
  return { source, hooks, server, open };
}

function summary(reply: DeltaReply): [ResourceKind, string[], string[]] {
  return [reply.kind, [...reply.names].sort(), [...reply.removed].sort()];
}

describe('Delta ADS', () => {
  test('the legacy empty first request and "*" are wildcards; resources carry their own versions', async (t) => {
    const { source, open } = await setup(t);
    const s = open();
    s.send({ kind: 'cluster' });
    s.send({ kind: 'listener', subscribe: ['*'] });
    const clusters = await s.nextAndAck();
    const listeners = await s.nextAndAck();
    assert.deepEqual(summary(clusters), ['cluster', ['a', 'b'], []]);
    assert.deepEqual(summary(listeners), ['listener', ['l1', 'l2'], []]);
    const snapshot = source.current('envoy-gateway');
    assert.equal(clusters.systemVersionInfo, snapshot.version);
    for (const r of clusters.resources) assert.equal(r.version, source.resource('cluster', r.name, 'envoy-gateway')?.version);

    source.publish(world({ ...BASE, cluster: { a: 2, b: 1, c: 1 } }));
    assert.deepEqual(summary(await s.nextAndAck()), ['cluster', ['a', 'c'], []], 'only what changed');
  });

  test('every subscribed name is answered: existing ones sent, missing ones in removed_resources, then sent when they appear', async (t) => {
    const { source, open } = await setup(t);
    const s = open();
    s.send({ kind: 'endpoint', subscribe: ['a', 'x'] });
    assert.deepEqual(summary(await s.nextAndAck()), ['endpoint', ['a'], ['x']]);
    source.publish(world({ ...BASE, endpoint: { a: 1, b: 1, x: 1 } }));
    assert.deepEqual(summary(await s.nextAndAck()), ['endpoint', ['x'], []]);
  });

  test('subscribing to a name the client already holds sends it again; unsubscribing needs no answer', async (t) => {
    const { hooks, open } = await setup(t);
    const s = open();
    s.send({ kind: 'endpoint', subscribe: ['a', 'b'] });
    await s.nextAndAck();
    s.send({ kind: 'endpoint', subscribe: ['a'] });
    assert.deepEqual(summary(await s.nextAndAck()), ['endpoint', ['a'], []]);
    const mark = hooks.mark();
    s.send({ kind: 'endpoint', unsubscribe: ['b'] });
    await s.expectQuiet(mark);
    s.send({ kind: 'endpoint', subscribe: ['b'] });
    assert.deepEqual(summary(await s.nextAndAck()), ['endpoint', ['b'], []]);
  });

  test('deletions go out as removed_resources, listeners and routes first, clusters and endpoints last', async (t) => {
    const { source, open } = await setup(t);
    const s = open();
    s.send({ kind: 'cluster' });
    s.send({ kind: 'endpoint', subscribe: ['a', 'b'] });
    s.send({ kind: 'listener' });
    s.send({ kind: 'route', subscribe: ['r1'] });
    for (let i = 0; i < 4; i++) await s.nextAndAck();

    source.publish(world({ cluster: { b: 1 }, endpoint: { b: 1 }, listener: { l1: 1 }, route: { r1: 2 } }));
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(summary(await s.nextAndAck()));
    assert.deepEqual(replies, [
      ['listener', [], ['l2']],
      ['route', ['r1'], []],
      ['cluster', [], ['a']],
      ['endpoint', [], ['a']],
    ]);
  });

  test('make before break: a new cluster comes before the route change, the old one is removed after', async (t) => {
    const { source, open } = await setup(t);
    const s = open();
    s.send({ kind: 'cluster' });
    s.send({ kind: 'route', subscribe: ['r1'] });
    await s.nextAndAck();
    await s.nextAndAck();
    source.publish(world({ ...BASE, cluster: { b: 1, c: 1 }, route: { r1: 2 } }));
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(summary(await s.nextAndAck()));
    assert.deepEqual(replies, [
      ['cluster', ['c'], []],
      ['route', ['r1'], []],
      ['cluster', [], ['a']],
    ]);
  });

  test('initial_resource_versions on reconnect: what the client holds is not resent, what is gone is removed', async (t) => {
    const { source, open } = await setup(t, world({ ...BASE, cluster: { a: 1, b: 2, c: 1 } }));
    const a = source.resource('cluster', 'a', 'envoy-gateway')!;
    const s = open();
    // Holds a (current), b (an older version) and gone (deleted while it was away); c is new to it.
    s.send({ kind: 'cluster', subscribe: ['*'], initialVersions: { a: a.version, b: 'stale-version', gone: 'v-old' } });
    assert.deepEqual(summary(await s.nextAndAck()), ['cluster', ['b', 'c'], []]);
    assert.deepEqual(summary(await s.nextAndAck()), ['cluster', [], ['gone']]);

    const e = open('envoy-2');
    const clusterA = source.resource('cluster', 'a', 'envoy-gateway')!;
    e.send({ kind: 'cluster', subscribe: ['a', 'b'], initialVersions: { a: clusterA.version } });
    assert.deepEqual(summary(await e.nextAndAck()), ['cluster', ['b'], []]);
  });

  test('subscription changes are honoured even with a stale nonce', async (t) => {
    const { source, hooks, open } = await setup(t);
    const s = open();
    s.send({ kind: 'endpoint', subscribe: ['a'] });
    const first = await s.nextAndAck();
    source.publish(world({ ...BASE, endpoint: { a: 2, b: 1 } }));
    await s.nextAndAck();
    const mark = hooks.mark();
    s.send({ kind: 'endpoint', subscribe: ['b'], nonce: first.nonce });
    assert.deepEqual(summary(await s.nextAndAck()), ['endpoint', ['b'], []]);
    const outcomes = hooks.since(mark).flatMap((e) => (e.hook === 'request' && e.kind === 'endpoint' ? [e.outcome] : []));
    assert.ok(outcomes.includes('subscription-change') && !outcomes.includes('stale-nonce'), outcomes.join());
  });

  test('a NACK is recorded and the rejected resource is not resent; the next version is', async (t) => {
    const { source, hooks, server, open } = await setup(t);
    const s = open();
    s.send({ kind: 'endpoint', subscribe: ['a', 'b'] });
    await s.nextAndAck();
    source.publish(world({ ...BASE, endpoint: { a: 2, b: 1 } }));
    const rejected = await s.next();
    const mark = hooks.mark();
    s.stream.nack(rejected, 'a: no endpoints');
    await s.expectQuiet(mark);
    const status = server.service.clients()[0]!;
    assert.deepEqual(status.lastNack && [status.lastNack.kind, status.lastNack.version, status.lastNack.error], [
      'endpoint',
      rejected.systemVersionInfo,
      'a: no endpoints',
    ]);
    source.publish(world({ ...BASE, endpoint: { a: 3, b: 1 } }));
    assert.deepEqual(summary(await s.nextAndAck()), ['endpoint', ['a'], []]);
  });

  test('with a wildcard, unsubscribing a specific name is answered with the resource or its removal', async (t) => {
    const { open } = await setup(t);
    const s = open();
    s.send({ kind: 'cluster' });
    await s.nextAndAck();
    s.send({ kind: 'cluster', subscribe: ['a', 'zz'] });
    assert.deepEqual(summary(await s.nextAndAck()), ['cluster', ['a'], ['zz']]);
    s.send({ kind: 'cluster', unsubscribe: ['a', 'zz'] });
    // "a" is still covered by the wildcard, "zz" is not.
    assert.deepEqual(summary(await s.nextAndAck()), ['cluster', ['a'], ['zz']]);
  });

  test('after "*" is unsubscribed only named resources follow', async (t) => {
    const { source, hooks, open } = await setup(t);
    const s = open();
    s.send({ kind: 'cluster', subscribe: ['*', 'a'] });
    assert.deepEqual(summary(await s.nextAndAck()), ['cluster', ['a', 'b'], []]);
    await s.sendHandled({ kind: 'cluster', unsubscribe: ['*'] });
    source.publish(world({ ...BASE, cluster: { a: 2, b: 2 } }));
    assert.deepEqual(summary(await s.nextAndAck()), ['cluster', ['a'], []]);
    const mark = hooks.mark();
    await s.expectQuiet(mark);
  });
});
