/**
 * The composed relay's gRPC limits, each hit by a hostile client: message size, ADS streams in
 * total, connections per client address, streams per connection (announced in HTTP/2 SETTINGS),
 * server keepalive pings and the idle-connection timeout. Refusals carry RESOURCE_EXHAUSTED and a
 * message naming the setting, and count in limit_hits_total.
 */
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { ConnectionLimiter, listenLimited } from '../../src/relay/limits/connection-limits';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { startRelay, type Relay } from '../../src/relay/relay';
import { startDouble } from '../helpers/consul-fixtures';
import { endedWithin, nodeFor, RawAdsClient, until } from '../helpers/raw-ads-client';

async function startLimitedRelay(t: TestContext, env: Record<string, string>): Promise<Relay> {
  const consul = await startDouble(t);
  const config = loadRelayConfig({
    VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_TOKEN: 'limits-test',
    CONSUL_HTTP_ADDR: consul.url,
    VMSS_MESH_RELAY_SHUTDOWN_GRACE_MS: '500',
    ...env,
  });
  const relay = await startRelay(config, { log: pino({ level: 'silent' }), processMetrics: false });
  t.after(() => relay.close());
  return relay;
}

/** A client on a connection of its own. */
function ownConnection(t: TestContext, relay: Relay): RawAdsClient {
  const client = new RawAdsClient(relay.xdsAddress, { 'grpc.use_local_subchannel_pool': 1 });
  t.after(() => client.close());
  return client;
}


async function limitHits(relay: Relay, limit: string): Promise<number> {
  const metric = await relay.metrics.limitHits.get();
  return metric.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

function rawSession(t: TestContext, relay: Relay): ClientHttp2Session {
  const session = connect(`http://${relay.xdsAddress}`);
  session.on('error', () => undefined);
  t.after(() => session.destroy());
  return session;
}

describe('relay gRPC limits', { concurrency: true, timeout: 60_000 }, () => {
  test('a message over VMSS_MESH_RELAY_MAX_RECEIVE_MESSAGE_BYTES ends its call with RESOURCE_EXHAUSTED', async (t) => {
    const relay = await startLimitedRelay(t, { VMSS_MESH_RELAY_MAX_RECEIVE_MESSAGE_BYTES: '65536' });
    const s = ownConnection(t, relay).sotw(nodeFor('proxyless-grpc'));
    s.send({ kind: 'endpoint', names: ['x'.repeat(100_000)] });
    const status = await endedWithin(s);
    assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status.details, /^Received message larger than max \(\d+ vs 65536\)$/);
  });

  test('ADS streams beyond VMSS_MESH_RELAY_MAX_STREAMS are refused with RESOURCE_EXHAUSTED', async (t) => {
    const relay = await startLimitedRelay(t, { VMSS_MESH_RELAY_MAX_STREAMS: '2' });
    const client = ownConnection(t, relay);
    const open = [client.sotw(nodeFor('proxyless-grpc', 'a')), client.delta(nodeFor('envoy-gateway', 'b'))];
    open[0]!.send({ kind: 'cluster', names: [] });
    open[1]!.send({ kind: 'cluster' });
    await until(() => relay.ads.streamCount() === 2, 5_000, 'two streams open');
    const third = ownConnection(t, relay).sotw(nodeFor('proxyless-grpc', 'c'));
    third.send({ kind: 'cluster', names: [] });
    const status = await endedWithin(third);
    assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(status.details, 'the relay serves at most 2 ADS streams at once (VMSS_MESH_RELAY_MAX_STREAMS)');
    assert.equal(relay.ads.streamCount(), 2);
    assert.equal(await limitHits(relay, 'max_streams'), 1);
    open[0]!.cancel();
    await until(() => relay.ads.streamCount() === 1, 5_000, 'a slot is free again');
    const fourth = ownConnection(t, relay).sotw(nodeFor('proxyless-grpc', 'd'));
    fourth.send({ kind: 'cluster', names: [] });
    await until(() => relay.ads.streamCount() === 2, 5_000, 'a new stream takes the free slot');
  });

  test('connections from one address beyond VMSS_MESH_RELAY_MAX_CONNECTIONS_PER_PEER are refused and closed', async (t) => {
    const relay = await startLimitedRelay(t, { VMSS_MESH_RELAY_MAX_CONNECTIONS_PER_PEER: '2' });
    const within = [ownConnection(t, relay).sotw(nodeFor('proxyless-grpc', 'a')), ownConnection(t, relay).sotw(nodeFor('proxyless-grpc', 'b'))];
    for (const s of within) s.send({ kind: 'cluster', names: [] });
    await until(() => relay.ads.streamCount() === 2, 5_000, 'two connections serve');
    const over = ownConnection(t, relay).sotw(nodeFor('proxyless-grpc', 'c'));
    over.send({ kind: 'cluster', names: [] });
    const status = await endedWithin(over);
    assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(status.details, '127.0.0.1 already has 2 connections, the most one client address may open (VMSS_MESH_RELAY_MAX_CONNECTIONS_PER_PEER = 2)');
    assert.equal(relay.ads.streamCount(), 2);
    assert.equal(await limitHits(relay, 'connections_per_peer'), 1);
    // A further connection from the same address is over the limit too: it is closed (after 1 s); the others still serve.
    const raw = rawSession(t, relay);
    const closed = new Promise<void>((resolve) => raw.once('close', resolve));
    await closed;
    assert.ok(within.every((s) => s.ended === undefined));
  });

  test('a flood of connections over the limit keeps only a few of them open: the rest are closed at once', async (t) => {
    const hits: string[] = [];
    // Over-limit connections that answer their calls would stay a minute: only the few kept may.
    const limiter = new ConnectionLimiter({ maxConnectionsPerPeer: 1, overLimitCloseMs: 60_000, onLimitExceeded: (limit) => hits.push(limit) });
    const server = new grpc.Server({ interceptors: [] });
    const listener = await listenLimited(server, limiter, '127.0.0.1', 0);
    const sockets: Socket[] = [];
    t.after(async () => {
      for (const socket of sockets) socket.destroy();
      server.forceShutdown();
      await listener.close();
    });
    let closed = 0;
    const open = async (): Promise<Socket> => {
      const socket = tcpConnect(listener.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.once('close', () => closed++);
      sockets.push(socket);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      return socket;
    };
    await open(); // within the limit
    const FLOOD = 12;
    for (let i = 0; i < FLOOD; i++) await open();
    await until(() => hits.length === FLOOD, 5_000, 'every connection over the limit is counted');
    await until(() => closed >= FLOOD - 4, 10_000, `all but 4 of ${FLOOD} connections over the limit are closed`);
    assert.equal(closed, FLOOD - 4);
    assert.ok(!sockets[0]!.destroyed && sockets[0]!.readyState === 'open', 'the connection within the limit is open');
  });

  test('streams per connection are announced in HTTP/2 SETTINGS (grpc.max_concurrent_streams)', async (t) => {
    const relay = await startLimitedRelay(t, { VMSS_MESH_RELAY_MAX_STREAMS_PER_CONNECTION: '7' });
    const session = rawSession(t, relay);
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
  });

  test('an idle connection is closed after VMSS_MESH_RELAY_MAX_CONNECTION_IDLE_MS, and the server pings every VMSS_MESH_RELAY_KEEPALIVE_TIME_MS', async (t) => {
    const relay = await startLimitedRelay(t, { VMSS_MESH_RELAY_MAX_CONNECTION_IDLE_MS: '300', VMSS_MESH_RELAY_KEEPALIVE_TIME_MS: '1000' });
    const idle = rawSession(t, relay);
    const started = Date.now();
    await new Promise<void>((resolve) => idle.once('goaway', () => resolve()));
    assert.ok(Date.now() - started >= 250, 'not before the idle time');

    // A connection with an open call is not idle; the server pings it.
    const busy = rawSession(t, relay);
    const pinged = new Promise<void>((resolve) => busy.once('ping', () => resolve()));
    const call = busy.request({ ':method': 'POST', ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', 'content-type': 'application/grpc', te: 'trailers' });
    call.on('error', () => undefined);
    await pinged;
  });
});
