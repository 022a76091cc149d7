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

const BLOB = 'm'.repeat(3.5 * MB);
const CLUSTER = 'k'.repeat(8_000);

/** A 3.5 MB node whose kept fields are small: the bulk is metadata the relay does not use. */
function heavyMetadataNode(i: number): TestNode {
  return { id: `node-${i}`, cluster: CLUSTER, user_agent_name: 'gRPC Node', metadata: { vmss_mesh_profile: 'proxyless-grpc', blob: BLOB } };
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

  test('only the fields the relay uses are kept: streams announcing 3.5 MB nodes keep < 17 KiB of them', async (t) => {
    // Heap per stream, server alone: bench/relay-hostile-nodes.ts (in-process, the clients' own memory would count).
    const { server } = await setup(t);
    const client = server.client();
    const STREAMS = 20;
    for (let i = 0; i < STREAMS; i++) {
      const s = client.sotw(heavyMetadataNode(i));
      s.send({ kind: 'cluster', names: [] });
      await s.next(30_000);
    }
    const kept = server.service.clients();
    assert.equal(kept.length, STREAMS);
    for (const status of kept) {
      const bytes = Buffer.byteLength(JSON.stringify(status));
      assert.ok(bytes < 17 * 1024, `stream ${status.streamId} keeps ${bytes} bytes`);
      assert.equal(status.nodeCluster, CLUSTER);
      assert.equal(status.profile, 'proxyless-grpc');
    }
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

  test('a stream that stops reading is ended once its send backlog is full, not buffered without bound', async (t) => {
    const names = (rev: number) => Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`cluster-${i}-${'n'.repeat(40)}`, rev]));
    const { source, hooks, server, client } = await setup(t, { maxSendBacklogBytes: 256 * 1024 }, { cluster: names(1) });
    const s = client.sotw(nodeFor('proxyless-grpc'));
    s.send({ kind: 'cluster', names: [] });
    const first = await s.next(10_000);
    s.pauseReading();
    // The client still ACKs each response (nonces are predictable once one is seen), so the relay
    // keeps sending: only the backlog can stop it.
    const prefix = first.nonce.slice(0, first.nonce.lastIndexOf('.') + 1);
    let sent = Number(first.nonce.slice(prefix.length));
    for (let rev = 2; rev < 200 && hooks.limits.length === 0; rev++) {
      source.publish({ cluster: names(rev) });
      s.send({ kind: 'cluster', names: [], versionInfo: String(rev), nonce: `${prefix}${sent}` });
      await until(() => hooks.responses().length > sent || hooks.limits.length > 0, 10_000, `response ${sent + 1}`);
      sent++;
    }
    assert.deepEqual(hooks.limits.map((l) => l.limit), ['send_backlog']);
    assert.match(hooks.limits[0]!.detail, /^send backlog: \d+ bytes not taken by the client, more than VMSS_MESH_RELAY_MAX_SEND_BACKLOG_BYTES \(262144\)$/);
    await until(() => server.service.streamCount() === 0, 5_000, 'the stream is over');
    const closed = hooks.events.find((e) => e.hook === 'closed');
    assert.ok(closed && closed.hook === 'closed' && closed.reason.startsWith('send backlog'), JSON.stringify(closed));
  });
});
