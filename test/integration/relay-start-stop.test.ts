/**
 * Starting and stopping the relay never hangs on a client's connection: a start that fails after
 * the gRPC listener is up (here: the admin address cannot be resolved) rejects, and `close()`
 * resolves, even when a client is connected and does not read (it never takes the FIN grpc-js sends).
 */
import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { startRelay } from '../../src/relay/relay';
import { startDouble } from '../helpers/consul-fixtures';
import { until } from '../helpers/raw-ads-client';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** Connects to 127.0.0.1:port as soon as something listens there; resolves with the socket. */
async function connectWhenListening(port: number, give: { up: boolean }): Promise<Socket | undefined> {
  while (!give.up) {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (socket) return socket;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return undefined;
}

test('a start-up failure after the gRPC listener is up rejects even with a client connected', { timeout: 60_000 }, async (t) => {
  const consul = await startDouble(t);
  const port = await freePort();
  const config = loadRelayConfig({
    VMSS_MESH_RELAY_LISTEN: `127.0.0.1:${port}`,
    // Resolving this name fails; the lookup runs on libuv's thread pool, kept busy below so the
    // client connects to the gRPC port before it does.
    VMSS_MESH_RELAY_ADMIN_LISTEN: 'no-such-host.invalid:0',
    VMSS_MESH_RELAY_TOKEN: 'startup-test',
    CONSUL_HTTP_ADDR: consul.url,
  });
  const busy: Array<Promise<void>> = [];
  for (let i = 0; i < 64; i++) busy.push(new Promise((resolve) => pbkdf2('x', 'y', 20_000, 32, 'sha256', () => resolve())));
  const give = { up: false };
  const client = connectWhenListening(port, give);
  const started = startRelay(config, { log: pino({ level: 'silent' }), processMetrics: false });
  void started.then(
    () => (give.up = true),
    () => (give.up = true),
  );
  const socket = await client;
  t.after(() => socket?.destroy());
  assert.ok(socket, 'the client connected while the relay was starting');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    started.then(
      () => 'started',
      (error: unknown) => `rejected: ${error instanceof Error ? error.message : String(error)}`,
    ),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still pending after 10 s'), 10_000))),
  ]);
  clearTimeout(timer);
  give.up = true;
  await Promise.all(busy);
  assert.match(outcome, /^rejected: .*no-such-host\.invalid/);
});

test('close() resolves while a connected client does not read', { timeout: 60_000 }, async (t) => {
  const consul = await startDouble(t);
  const config = loadRelayConfig({
    VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_TOKEN: 'stop-test',
    CONSUL_HTTP_ADDR: consul.url,
    VMSS_MESH_RELAY_SHUTDOWN_GRACE_MS: '200',
  });
  const relay = await startRelay(config, { log: pino({ level: 'silent' }), processMetrics: false });
  const socket = connect(relay.xdsPort, '127.0.0.1'); // no 'data' listener: it never reads
  t.after(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  // grpc-js's SETTINGS frame waits in the socket's buffer: the connection is the gRPC server's.
  await until(() => socket.readableLength > 0, 5_000, 'the server spoke HTTP/2 on the connection');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    relay.close().then(() => 'closed'),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still closing after 10 s'), 10_000))),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 'closed');
});
