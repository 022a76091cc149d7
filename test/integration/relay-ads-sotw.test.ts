/**
 * State-of-the-World ADS protocol rules, checked with a raw client built on Envoy's protos against
 * a server on 127.0.0.1:0 fed by a controllable fake snapshot source.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { KEEP_STALE_SUFFIX } from '../../src/relay/ads/response-planner';
import type { ResourceKind } from '../../src/relay/xds/resource-kind';
import { FakeSnapshotSource, type FakeWorld } from '../helpers/fake-snapshots';
import { HookRecorder, nodeFor, startAdsTestServer, until, type RawSotwStream, type SotwReply } from '../helpers/raw-ads-client';

const PROBES = 20;

/** Adds the probe routes `expectQuiet` subscribes to. */
function world(w: FakeWorld): FakeWorld {
  const routes: Record<string, number> = { ...(w.route as Record<string, number> | undefined) };
  for (let i = 1; i <= PROBES; i++) routes[`probe-${i}`] = 1;
  return { ...w, route: routes };
}

const BASE = world({ cluster: { a: 1, b: 1 }, endpoint: { a: 1, b: 1 }, listener: { l1: 1, l2: 1 }, route: { r1: 1 } });

/** One SotW stream plus what a well-behaved client remembers: names and latest nonce per kind. */
class Session {
  readonly names: Record<ResourceKind, string[]> = { cluster: [], endpoint: [], listener: [], route: [] };
  readonly nonce: Record<ResourceKind, string> = { cluster: '', endpoint: '', listener: '', route: '' };
  private probes = 0;

  constructor(
    readonly stream: RawSotwStream,
    readonly hooks: HookRecorder,
  ) {}

  /** A request with the full list of names and the latest nonce of the kind (as grpc-js-xds does). */
  subscribe(kind: ResourceKind, names: string[]): void {
    this.names[kind] = names;
    this.stream.send({ kind, names, nonce: this.nonce[kind] });
  }

  /** Subscribes and waits until the server has handled the request (before a test publishes). */
  async subscribeHandled(kind: ResourceKind, names: string[]): Promise<void> {
    const mark = this.hooks.mark();
    this.subscribe(kind, names);
    await until(() => this.hooks.since(mark).some((e) => e.hook === 'request'), 3000, 'the request handled');
  }

  async next(): Promise<SotwReply> {
    const reply = await this.stream.next();
    this.nonce[reply.kind] = reply.nonce;
    return reply;
  }

  ack(reply: SotwReply): void {
    this.stream.ack(reply, this.names[reply.kind]);
  }

  async nextAndAck(): Promise<SotwReply> {
    const reply = await this.next();
    this.ack(reply);
    return reply;
  }

  /**
   * Proves nothing was sent since `mark` (a hook-log position) but a probe: subscribes one more
   * probe route and expects exactly it as the next response. The server handles a request
   * synchronously, so every response pending before the probe is in the hook log by then.
   */
  async expectQuiet(mark: number): Promise<void> {
    const probe = `probe-${++this.probes}`;
    this.subscribe('route', [...this.names.route, probe]);
    const reply = await this.nextAndAck();
    assert.deepEqual([reply.kind, reply.names], ['route', [probe]], 'the next response is the probe');
    const sent = this.hooks.since(mark).filter((e) => e.hook === 'response');
    assert.equal(sent.length, 1, `only the probe was sent, got ${JSON.stringify(sent)}`);
  }
}

async function setup(t: TestContext, w: FakeWorld = BASE, options: { ready?: boolean } = {}) {
  const source = new FakeSnapshotSource({ world: w, ready: options.ready ?? true });
  const hooks = new HookRecorder();
  const server = await startAdsTestServer(source, { hooks });
  t.after(() => server.close());
  const client = server.client();
  const open = (id = 'node-1') => new Session(client.sotw(nodeFor('proxyless-grpc', id)), hooks);
  return { source, hooks, server, open };
}

describe('SotW ADS', () => {
  test('first responses follow CDS, EDS, LDS, RDS once the source is ready, whatever the request order', async (t) => {
    const { source, hooks, open } = await setup(t, BASE, { ready: false });
    const s = open();
    s.subscribe('listener', []);
    s.subscribe('route', ['r1']);
    s.subscribe('endpoint', ['a']);
    s.subscribe('cluster', []);
    await until(() => hooks.requests('initial').length === 4, 3000, 'four initial requests');
    assert.equal(hooks.responses().length, 0, 'nothing is answered before the source is ready');
    source.setReady();
    const kinds = [];
    for (let i = 0; i < 4; i++) kinds.push((await s.nextAndAck()).kind);
    assert.deepEqual(kinds, ['cluster', 'endpoint', 'listener', 'route']);
  });

  test('every response has its own nonce, on a stream and across streams', async (t) => {
    const { source, open } = await setup(t);
    const one = open('n1');
    const two = open('n2');
    const nonces: string[] = [];
    for (const s of [one, two]) {
      s.subscribe('cluster', []);
      s.subscribe('endpoint', ['a', 'b']);
      nonces.push((await s.nextAndAck()).nonce, (await s.nextAndAck()).nonce);
    }
    source.publish(world({ ...BASE, endpoint: { a: 2, b: 1 } }));
    for (const s of [one, two]) nonces.push((await s.nextAndAck()).nonce);
    assert.equal(new Set(nonces).size, nonces.length, `distinct nonces: ${nonces.join(' ')}`);
    assert.ok(nonces.every((n) => n !== ''));
  });

  test('an ACK records the version; a request with a stale nonce is ignored', async (t) => {
    const { source, hooks, server, open } = await setup(t);
    const s = open();
    s.subscribe('endpoint', ['a']);
    const first = await s.nextAndAck();
    assert.deepEqual(first.names, ['a']);
    source.publish(world({ ...BASE, endpoint: { a: 2, b: 1 } }));
    const second = await s.next();
    assert.deepEqual(second.names, ['a']);
    assert.notEqual(second.versionInfo, first.versionInfo);

    const mark = hooks.mark();
    // Answers the first response although the second was sent: stale, so "b" is not subscribed.
    s.stream.send({ kind: 'endpoint', names: ['a', 'b'], nonce: first.nonce, versionInfo: first.versionInfo });
    await s.expectQuiet(mark);
    assert.deepEqual(
      hooks.since(mark).filter((e) => e.hook === 'request' && e.kind === 'endpoint').map((e) => e.hook === 'request' && e.outcome),
      ['stale-nonce'],
    );

    // The same change with the current nonce is an ACK of the second response and subscribes "b".
    s.names.endpoint = ['a', 'b'];
    s.stream.send({ kind: 'endpoint', names: ['a', 'b'], nonce: second.nonce, versionInfo: second.versionInfo });
    const third = await s.nextAndAck();
    assert.deepEqual(third.names, ['b']);
    const ack = hooks.requests('ack').find((e) => e.kind === 'endpoint' && e.ackLatencyMs !== undefined);
    assert.ok(ack, 'the ACK reports a latency');
    await until(() => server.service.clients()[0]?.lastAckedVersion.endpoint === third.versionInfo);
    assert.equal(server.service.clients()[0]?.lastSentVersion.endpoint, third.versionInfo);
  });

  test('a NACK keeps the error, the rejected version is never resent, the next version goes out', async (t) => {
    const { source, hooks, server, open } = await setup(t);
    const s = open();
    s.subscribe('endpoint', ['a']);
    const accepted = await s.nextAndAck();
    source.publish(world({ ...BASE, endpoint: { a: 2, b: 1 } }));
    const rejected = await s.next();
    s.stream.nack(rejected, ['a'], 'endpoint a: bad port', accepted.versionInfo);
    await until(() => hooks.requests('nack').length === 1, 3000, 'the NACK');
    assert.deepEqual(
      hooks.requests('nack').map((e) => [e.kind, e.error]),
      [['endpoint', 'endpoint a: bad port']],
    );
    const status = server.service.clients()[0]!;
    assert.equal(status.lastNack?.kind, 'endpoint');
    assert.equal(status.lastNack?.version, rejected.versionInfo);
    assert.equal(status.lastNack?.error, 'endpoint a: bad port');
    assert.equal(status.lastAckedVersion.endpoint, accepted.versionInfo);

    // grpc-js-xds repeats error_detail on later requests until a response is accepted: a
    // subscription change, not another NACK, and "a" (rejected) is not sent again.
    const mark = hooks.mark();
    s.names.endpoint = ['a', 'b'];
    s.stream.send({ kind: 'endpoint', names: ['a', 'b'], nonce: rejected.nonce, versionInfo: accepted.versionInfo, error: 'endpoint a: bad port' });
    const onlyB = await s.nextAndAck();
    assert.deepEqual(onlyB.names, ['b']);
    assert.equal(hooks.requests('nack').length, 1);
    await s.expectQuiet(hooks.mark());
    assert.equal(hooks.since(mark).filter((e) => e.hook === 'response' && e.kind === 'endpoint').length, 1);

    source.publish(world({ ...BASE, endpoint: { a: 3, b: 1 } }));
    const next = await s.nextAndAck();
    assert.deepEqual([next.kind, next.names], ['endpoint', ['a']]);
  });

  test('the node comes from the first request and is remembered; a first request without one is refused', async (t) => {
    const { server, open } = await setup(t);
    const refused = open('nobody');
    refused.stream.send({ kind: 'cluster', names: [], omitNode: true });
    const status = await refused.stream.status();
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(status.details, 'node: the first request on an ADS stream must carry the node');

    const s = open('gateway-7');
    s.subscribe('cluster', []); // carries the node
    await s.nextAndAck(); // carries none
    s.subscribe('endpoint', ['a']); // carries none
    await s.nextAndAck();
    const [client] = server.service.clients();
    assert.equal(client?.nodeId, 'gateway-7');
    assert.deepEqual(client?.subscriptions, { cluster: '*', endpoint: ['a'] });
  });

  test('wildcard: "*" and the legacy empty first request; an empty list after names unsubscribes', async (t) => {
    const { source, hooks, open } = await setup(t);
    const s = open();
    s.subscribe('cluster', []);
    s.subscribe('listener', ['*']);
    assert.deepEqual((await s.nextAndAck()).names, ['a', 'b']);
    assert.deepEqual((await s.nextAndAck()).names, ['l1', 'l2']);

    source.publish(world({ ...BASE, cluster: { a: 1, b: 1, c: 1 }, listener: { l1: 1, l2: 1, l3: 1 } }));
    const clusters = await s.nextAndAck();
    const listeners = await s.nextAndAck();
    assert.deepEqual([clusters.kind, clusters.names], ['cluster', ['a', 'b', 'c']]);
    assert.deepEqual([listeners.kind, listeners.names], ['listener', ['l1', 'l2', 'l3']]);

    // "*" plus a name keeps the wildcard; the name is new, so the full set comes again.
    s.subscribe('listener', ['*', 'l1']);
    assert.deepEqual((await s.nextAndAck()).names, ['l1', 'l2', 'l3']);
    // Only names: the wildcard is gone, and "a" is newly requested by name, so it comes again
    // (xDS: newly requested resources are resent even if sent before without being asked for).
    s.subscribe('cluster', ['a']);
    const named = await s.nextAndAck();
    assert.deepEqual([named.kind, named.names], ['cluster', ['a']]);
    // Empty after explicit names: unsubscribed from everything, not a wildcard.
    await s.subscribeHandled('cluster', []);
    const mark = hooks.mark();
    source.publish(world({ ...BASE, cluster: { a: 2, b: 2, c: 1 }, listener: { l1: 1, l2: 1, l3: 1 } }));
    await s.expectQuiet(mark);
  });

  test('names that do not exist yet are remembered and sent when they appear', async (t) => {
    const { source, hooks, open } = await setup(t);
    const s = open();
    s.subscribe('listener', ['svc-x']);
    // LDS answers its first request even when nothing matches (so clients can initialise).
    const empty = await s.nextAndAck();
    assert.deepEqual([empty.kind, empty.names], ['listener', []]);
    const mark = hooks.mark();
    s.subscribe('endpoint', ['x']);
    await s.expectQuiet(mark);

    source.publish(world({ ...BASE, listener: { l1: 1, 'svc-x': 1 }, endpoint: { a: 1, b: 1, x: 1 } }));
    const endpoints = await s.nextAndAck();
    const listeners = await s.nextAndAck();
    assert.deepEqual([endpoints.kind, endpoints.names], ['endpoint', ['x']]);
    assert.deepEqual([listeners.kind, listeners.names], ['listener', ['svc-x']]);
  });

  test('LDS/CDS responses carry every subscribed resource, EDS/RDS only changed ones; unchanged ones are never resent', async (t) => {
    const { source, hooks, open } = await setup(t);
    const s = open();
    s.subscribe('listener', ['l1', 'l2']);
    s.subscribe('endpoint', ['a', 'b']);
    s.subscribe('route', ['r1']);
    await s.nextAndAck();
    await s.nextAndAck();
    await s.nextAndAck();

    source.publish(world({ ...BASE, listener: { l1: 2, l2: 1 }, endpoint: { a: 1, b: 2 }, route: { r1: 1 } }));
    const endpoints = await s.nextAndAck();
    const listeners = await s.nextAndAck();
    assert.deepEqual([endpoints.kind, endpoints.names], ['endpoint', ['b']]);
    assert.deepEqual([listeners.kind, listeners.names], ['listener', ['l1', 'l2']]);

    // A new snapshot version with the same resources: nothing to send.
    const mark = hooks.mark();
    source.publish(world({ ...BASE, listener: { l1: 2, l2: 1 }, endpoint: { a: 1, b: 2 }, route: { r1: 1 } }));
    await s.expectQuiet(mark);
  });

  test('a changed cluster gets a fresh EDS response even when its endpoints did not change', async (t) => {
    const w = world({ cluster: { a: 1, svc: { rev: 1, edsServiceName: 'svc-eds' } }, endpoint: { a: 1, 'svc-eds': 1 } });
    const { source, open } = await setup(t, w);
    const s = open();
    s.subscribe('cluster', []);
    s.subscribe('endpoint', ['a', 'svc-eds']);
    await s.nextAndAck();
    const before = await s.nextAndAck();

    source.publish(world({ cluster: { a: 1, svc: { rev: 2, edsServiceName: 'svc-eds' } }, endpoint: { a: 1, 'svc-eds': 1 } }));
    const clusters = await s.nextAndAck();
    const endpoints = await s.nextAndAck();
    assert.deepEqual([clusters.kind, clusters.names], ['cluster', ['a', 'svc']]);
    assert.deepEqual([endpoints.kind, endpoints.names], ['endpoint', ['svc-eds']]);
    const old = before.resources.find((r) => r.name === 'svc-eds')!;
    assert.deepEqual(endpoints.resources[0]!.bytes, old.bytes, 'the same assignment, sent again');
  });

  test('make before break: new clusters first, then routes, and stale clusters only after the CDS ACK', async (t) => {
    const { source, open } = await setup(t);
    const s = open();
    s.subscribe('cluster', []);
    s.subscribe('endpoint', ['a', 'b']);
    s.subscribe('route', ['r1']);
    for (let i = 0; i < 3; i++) await s.nextAndAck();

    // "a" is replaced by "c", and r1 changes (in real life: to point at "c").
    source.publish(world({ ...BASE, cluster: { b: 1, c: 1 }, endpoint: { b: 1, c: 1 }, route: { r1: 2 } }));
    const addition = await s.next();
    assert.equal(addition.kind, 'cluster');
    assert.deepEqual([...addition.names].sort(), ['a', 'b', 'c'], 'the stale cluster is kept for now');
    assert.ok(addition.versionInfo.endsWith(KEEP_STALE_SUFFIX));
    const routes = await s.nextAndAck();
    assert.deepEqual([routes.kind, routes.names], ['route', ['r1']]);
    assert.equal(s.stream.unread, 0, 'the removal waits for the ACK of the addition');

    // The client ACKs and subscribes to the new cluster's endpoints, as Envoy does.
    s.ack(addition);
    s.subscribe('endpoint', ['b', 'c']);
    const replies = [await s.nextAndAck(), await s.nextAndAck()];
    const removal = replies.find((r) => r.kind === 'cluster');
    const endpoints = replies.find((r) => r.kind === 'endpoint');
    assert.deepEqual(removal?.names, ['b', 'c']);
    assert.deepEqual(endpoints?.names, ['c']);
    assert.ok(!removal!.versionInfo.endsWith(KEEP_STALE_SUFFIX));
  });

  test('a name unsubscribed and subscribed again is sent again', async (t) => {
    const { hooks, open } = await setup(t);
    const s = open();
    s.subscribe('endpoint', ['a', 'b']);
    await s.nextAndAck();
    const mark = hooks.mark();
    s.subscribe('endpoint', ['a']);
    await s.expectQuiet(mark);
    s.subscribe('endpoint', ['a', 'b']);
    assert.deepEqual((await s.nextAndAck()).names, ['b']);
  });

  test('types the relay does not serve stay unanswered and do not disturb the stream', async (t) => {
    const { hooks, open } = await setup(t);
    const s = open();
    s.subscribe('cluster', []);
    await s.nextAndAck();
    const mark = hooks.mark();
    s.stream.send({ kind: 'cluster', typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', names: ['cert'] });
    await s.expectQuiet(mark);
  });
});
