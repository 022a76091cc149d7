/**
 * The ADS server with the real proxyless client (@grpc/grpc-js-xds, SotW) and the real snapshot
 * store: three gRPC backends on loopback, calls through `xds:///echo` follow endpoint changes
 * (add, drain, remove) without a single failed call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { createAdsService } from '../../src/relay/ads/ads-service';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import type { EndpointHealth, ServiceEndpointSet } from '../../src/shared/endpoints';
import { HookRecorder } from '../helpers/raw-ads-client';
import { deferrer } from '../helpers/defer';

const identity = (b: Buffer): Buffer => b;
const ECHO: grpc.ServiceDefinition = {
  Who: { path: '/vmss_mesh.test.Echo/Who', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

async function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
}

async function startBackend(name: string): Promise<{ name: string; port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    Who: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(name)),
  });
  return { name, port: await listen(server), server };
}

test('grpc-js-xds follows endpoint additions, draining and removals through the ADS server', async (t) => {
  const defer = deferrer(t);
  const backends = await Promise.all(['b1', 'b2', 'b3'].map(startBackend));
  defer(() => backends.forEach((b) => b.server.forceShutdown()));
  let index = 0;
  const endpoints = (health: Record<string, EndpointHealth>): ServiceEndpointSet => ({
    service: 'echo',
    consulIndex: ++index,
    protocol: 'grpc',
    endpoints: backends
      .filter((b) => health[b.name])
      .map((b) => ({ address: '127.0.0.1', port: b.port, zone: '1', health: health[b.name]!, weight: 1, instanceName: b.name })),
  });
  const store = new SnapshotStore({ routeConfigMode: 'rds' });
  const publish = (health: Record<string, EndpointHealth>): void => {
    store.publish({ services: new Map([['echo', endpoints(health)]]), gatewayRoutes: [] });
  };
  publish({ b1: 'passing', b2: 'passing' });
  store.markReady();

  const hooks = new HookRecorder();
  const ads = createAdsService(store, { hooks, minSendIntervalMs: 0 });
  const relay = new grpc.Server();
  relay.addService(ads.definition, ads.implementation);
  const relayPort = await listen(relay);
  defer(() => {
    ads.closeAllStreams();
    relay.forceShutdown();
  });

  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${relayPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'proxyless-test', locality: { zone: '1' } },
  });
  grpcXds.register();
  const Echo = grpc.makeGenericClientConstructor(ECHO, 'Echo');
  const client = new Echo('xds:///echo', grpc.credentials.createInsecure());
  defer(() => client.close());

  let failures = 0;
  const who = (): Promise<string> =>
    new Promise((resolve) => {
      client.makeUnaryRequest('/vmss_mesh.test.Echo/Who', identity, identity, Buffer.alloc(0), (error, reply) => {
        if (error || !reply) {
          failures++;
          resolve(`error: ${error?.message}`);
        } else resolve(reply.toString());
      });
    });
  /** Calls until the last `window` answers satisfy `done` (fails after `limit` calls). */
  const callUntil = async (done: (seen: Set<string>) => boolean, window = 12, limit = 3000): Promise<Set<string>> => {
    const recent: string[] = [];
    for (let i = 0; i < limit; i++) {
      recent.push(await who());
      if (recent.length > window) recent.shift();
      const seen = new Set(recent);
      if (recent.length === window && done(seen)) return seen;
    }
    assert.fail(`never converged; last answers ${recent.join(',')}`);
  };
  const only = (...names: string[]) => (seen: Set<string>) => seen.size === names.length && names.every((n) => seen.has(n));

  // Calls spread over the two healthy backends.
  await callUntil(only('b1', 'b2'));
  assert.equal(ads.clients()[0]?.profile, 'proxyless-grpc');
  assert.equal(ads.clients()[0]?.userAgent, 'gRPC Node Pure JS');

  publish({ b1: 'passing', b2: 'passing', b3: 'passing' });
  await callUntil(only('b1', 'b2', 'b3'));
  publish({ b1: 'draining', b2: 'passing', b3: 'passing' });
  await callUntil(only('b2', 'b3'), 20);
  publish({ b1: 'draining', b3: 'passing' });
  await callUntil(only('b3'), 20);

  assert.equal(failures, 0, 'no call failed during the changes');
  assert.deepEqual(hooks.requests('nack'), [], 'the client accepted every response');
  assert.deepEqual(
    hooks.requests('initial').map((e) => e.kind),
    ['listener', 'route', 'cluster', 'endpoint'],
  );
});
