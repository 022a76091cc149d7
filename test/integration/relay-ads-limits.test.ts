/**
 * What one ADS stream may cost, whatever its client sends: the node it keeps, the names it holds
 * subscribed, and the responses it has not read. Each limit ends the stream with RESOURCE_EXHAUSTED
 * and a message naming its setting, and is reported to the hooks.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { AdsServiceOptions } from '../../src/relay/ads/ads-service';
import type { LimitName } from '../../src/relay/limits/limit-settings';
import { FakeSnapshotSource, type FakeWorld } from '../helpers/fake-snapshots';
import { endedWithin, HookRecorder, nodeFor, startAdsTestServer, until, type TestNode } from '../helpers/raw-ads-client';

class LimitRecorder extends HookRecorder {
  readonly limits: Array<{ limit: LimitName; peer: string; detail: string }> = [];
  onLimitExceeded(limit: LimitName, peer: string, detail: string): void {
    this.limits.push({ limit, peer, detail });
  }
}

async function setup(t: TestContext, options: AdsServiceOptions = {}, world: FakeWorld = { cluster: { a: 1 } }) {
  const source = new FakeSnapshotSource({ world, ready: true });
  const hooks = new LimitRecorder();
  const server = await startAdsTestServer(source, { hooks, ...options });
  t.after(() => server.close());
  return { source, hooks, server, client: server.client() };
}

const MB = 1_000_000;

/** The hostile node: 3.5 MB across node.cluster, user_agent_name and metadata. */
function hostileNode(): TestNode {
  return { id: 'hostile', cluster: 'c'.repeat(MB), user_agent_name: 'u'.repeat(MB), metadata: { a: 'a'.repeat(MB), b: 'b'.repeat(MB / 2) } };
}


describe('ADS stream limits', { timeout: 240_000 }, () => {
  test('a node whose kept fields exceed the node limit is refused with RESOURCE_EXHAUSTED', async (t) => {
    const { hooks, server, client } = await setup(t);
    const s = client.sotw(hostileNode());
    s.send({ kind: 'cluster', names: [] });
    const status = await endedWithin(s);
    assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status.details, /^node: id, cluster, user_agent_name and metadata\.vmss_mesh_profile are 2000007 bytes, more than VMSS_MESH_RELAY_MAX_NODE_BYTES \(16384\)$/);
    assert.equal(server.service.streamCount(), 0);
    assert.deepEqual(hooks.limits.map((l) => l.limit), ['max_node']);
  });

  test('subscribed names are counted once: names answered as absent do not count twice', async (t) => {
    // 40 KB of names under a 64 KiB limit: the relay answers that none exists (Delta removed_resources),
    // which must not count the names a second time, nor must the client's later ACKs.
    const { hooks, server, client } = await setup(t, { maxSubscriptionBytes: 64 * 1024 });
    const d = client.delta(nodeFor('envoy-gateway'));
    const names = Array.from({ length: 40 }, (_, i) => `absent-${i}-${'x'.repeat(990)}`);
    d.send({ kind: 'endpoint', subscribe: names });
    const reply = await d.next(10_000);
    assert.deepEqual([...reply.removed].sort(), [...names].sort());
    d.ack(reply);
    d.send({ kind: 'endpoint', subscribe: ['one-more'] });
    await until(() => hooks.requests().length >= 3 || d.ended !== undefined, 5_000, 'the relay handled the three requests');
    assert.equal(d.ended, undefined, JSON.stringify(d.ended));
    assert.deepEqual(hooks.limits, []);
    assert.equal(server.service.streamCount(), 1);
  });

  test('a stream subscribing to more than its subscription limit ends with RESOURCE_EXHAUSTED', async (t) => {
    const { hooks, server, client } = await setup(t, { maxSubscriptionBytes: 64 * 1024 });
    const d = client.delta(nodeFor('envoy-gateway'));
    let status: grpc.StatusObject | undefined;
    void d.status().then((s) => (status = s));
    for (let round = 0; round < 20 && !status; round++) {
      d.send({ kind: 'endpoint', subscribe: Array.from({ length: 10 }, (_, i) => `name-${round}-${i}-${'x'.repeat(1000)}`) });
      await until(() => status !== undefined || hooks.requests().length > round, 5_000);
    }
    assert.equal(status?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status.details, /^subscriptions: \d+ bytes of resource names, more than VMSS_MESH_RELAY_MAX_SUBSCRIPTION_BYTES \(65536\)$/);
    assert.equal(server.service.streamCount(), 0);
    assert.deepEqual(hooks.limits.map((l) => l.limit), ['max_subscription']);
  });

  test('a round larger than 4 MiB reaches a client that reads it (responses written back to back are not a backlog)', async (t) => {
    // 3 MB of clusters and 1.5 MB of listeners, both changed by one publish: one round of two responses.
    const world = (rev: number): FakeWorld => ({
      cluster: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`cluster-${i}-${'c'.repeat(3000)}`, rev])),
      listener: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`listener-${i}-${'l'.repeat(3000)}`, rev])),
    });
    const { source, hooks, client } = await setup(t, {}, world(1));
    const s = client.sotw(nodeFor('proxyless-grpc'));
    s.send({ kind: 'cluster', names: [] });
    s.ack(await s.next(30_000), []);
    s.send({ kind: 'listener', names: [] });
    s.ack(await s.next(30_000), []);
    source.publish(world(2));
    const round = [await s.next(30_000), await s.next(30_000)];
    assert.deepEqual(round.map((r) => r.kind).sort(), ['cluster', 'listener']);
    assert.ok(round.reduce((sum, r) => sum + r.wireBytes, 0) > 4 * 1024 * 1024, 'the round is larger than 4 MiB');
    assert.deepEqual(hooks.limits, []);
    assert.equal(s.ended, undefined);
  });

  test('a client that does not read cannot make the relay buffer more than one response per kind: nonces cannot be guessed', async (t) => {
    const world = (rev: number): FakeWorld => ({
      cluster: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`cluster-${i}`, rev])),
      listener: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`listener-${i}`, rev])),
    });
    const { source, hooks, server, client } = await setup(t, {}, world(1));
    const s = client.sotw(nodeFor('proxyless-grpc'));
    s.send({ kind: 'cluster', names: [] });
    const first = await s.next(10_000);
    s.pauseReading();
    s.send({ kind: 'listener', names: [] });
    await until(() => hooks.responses().length === 2, 10_000, 'the listener response is written');
    // The client ACKs what it cannot have read, guessing nonces from the one it saw (the next
    // numbers after its last dot, as a counter would make them).
    const prefix = first.nonce.slice(0, first.nonce.lastIndexOf('.') + 1);
    const counter = Number(first.nonce.slice(prefix.length));
    const guesses = Number.isInteger(counter) ? Array.from({ length: 8 }, (_, i) => `${prefix}${counter + 1 + i}`) : [];
    for (let rev = 2; rev <= 20; rev++) {
      source.publish(world(rev));
      const mark = hooks.mark();
      for (const kind of ['cluster', 'listener'] as const) {
        for (const nonce of [first.nonce, ...guesses]) s.send({ kind, names: [], versionInfo: String(rev - 1), nonce });
      }
      await until(() => hooks.since(mark).filter((e) => e.hook === 'request').length === 2 * (1 + guesses.length), 10_000, `the guesses of rev ${rev} are handled`);
    }
    // Written to the stream: the first CDS response (read), then one update per kind, never taken.
    const written = hooks.responses().map((r) => r.kind);
    assert.deepEqual(written, ['cluster', 'listener', 'cluster'], JSON.stringify(written));
    assert.deepEqual(hooks.limits, []);
    assert.equal(server.service.streamCount(), 1);
  });
});
