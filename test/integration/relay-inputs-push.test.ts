import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import { endpointPushService, type WirePushRequest, type WirePushResponse } from '../../src/relay/push/push-proto';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import { createPushService, type PushServerHooks } from '../../src/relay/push/push-server';
import { endpoint, endpointSet } from '../helpers/relay-inputs';

const TOKEN = 'push-secret-1';

async function startPushServer(t: TestContext, hooks: PushServerHooks = {}) {
  const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 0, publish: () => undefined });
  const service = createPushService({ store, token: TOKEN, hooks });
  const server = new grpc.Server();
  server.addService(service.definition, service.implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  t.after(() => store.close());
  const address = `127.0.0.1:${port}`;
  /** '' = send no authorization metadata at all. */
  const client = (token = TOKEN) => {
    const c = new GrpcPushClient({ targets: [address], token });
    t.after(() => c.close());
    return c;
  };
  return { store, address, client };
}

/** A raw call, for requests the typed client cannot produce (unspecified enums, zero indexes). */
function rawPush(t: TestContext, address: string, request: WirePushRequest): Promise<{ error?: grpc.ServiceError; response?: WirePushResponse }> {
  const Service = endpointPushService();
  const client = new Service(address, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${TOKEN}`);
  type Unary = (r: WirePushRequest, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: WirePushResponse) => void) => void;
  const call = (client as unknown as { pushEndpoints: Unary }).pushEndpoints.bind(client);
  return new Promise((resolve) => call(request, metadata, (error, response) => resolve(error ? { error } : { response })));
}

describe('push server (EndpointPush)', { concurrency: true, timeout: 30_000 }, () => {
  test('without or with a wrong token: UNAUTHENTICATED, nothing stored', async (t) => {
    const rejected: string[] = [];
    const { store, client } = await startPushServer(t, { onRejected: (reason, detail) => rejected.push(`${reason}: ${detail}`) });
    const set = endpointSet('web', 5, [endpoint('10.0.0.1')]);
    const [missing] = await client('').publish([set], 'test');
    assert.deepEqual(missing, { target: missing!.target, ok: false, error: 'UNAUTHENTICATED: push token missing: send "authorization: Bearer <token>" metadata' });
    const [wrong] = await client('push-secret-2').publish([set], 'test');
    assert.equal(wrong?.error, 'UNAUTHENTICATED: push token wrong');
    assert.deepEqual(store.serviceNames(), []);
    assert.deepEqual(rejected, ['unauthenticated: push token missing: send "authorization: Bearer <token>" metadata', 'unauthenticated: push token wrong']);
  });

  test('unknown service → CREATED, newer → ACCEPTED, older → IGNORED_STALE with the held index', async (t) => {
    const pushes: string[] = [];
    const { store, client } = await startPushServer(t, {
      onPush: (source, results) => pushes.push(`${source}: ${results.map((r) => `${r.service}=${r.outcome}@${r.currentIndex}`).join(' ')}`),
    });
    const c = client();
    const created = await c.publish([endpointSet('web', 10, [endpoint('10.0.0.1')]), endpointSet('api', 4, [])], 'run-1');
    assert.deepEqual(created[0]?.services, [
      { service: 'web', outcome: 'created', currentIndex: 10 },
      { service: 'api', outcome: 'created', currentIndex: 4 },
    ]);
    const accepted = await c.publish([endpointSet('web', 11, [endpoint('10.0.0.1'), endpoint('10.0.0.2', { zone: '2', weight: 3 })])], 'run-2');
    assert.deepEqual(accepted[0]?.services, [{ service: 'web', outcome: 'accepted', currentIndex: 11 }]);
    const stale = await c.publish([endpointSet('web', 9, [])], 'run-0');
    assert.deepEqual(stale[0]?.services, [{ service: 'web', outcome: 'ignored-stale', currentIndex: 11 }]);

    const web = store.get('web');
    assert.equal(web?.consulIndex, 11);
    assert.deepEqual(
      web?.endpoints.map((e) => [e.address, e.port, e.zone, e.health, e.weight, e.instanceName]),
      [
        ['10.0.0.1', 8080, '1', 'passing', 1, 'vm-10.0.0.1'],
        ['10.0.0.2', 8080, '2', 'passing', 3, 'vm-10.0.0.2'],
      ],
    );
    assert.deepEqual(pushes, ['run-1: web=created@10 api=created@4', 'run-2: web=accepted@11', 'run-0: web=ignored-stale@11']);
  });

  test('every health value and IPv6 literals pass through; weight 0 means 1; empty protocol means http', async (t) => {
    const { store, address } = await startPushServer(t);
    const health = ['ENDPOINT_HEALTH_PASSING', 'ENDPOINT_HEALTH_WARNING', 'ENDPOINT_HEALTH_CRITICAL', 'ENDPOINT_HEALTH_DRAINING'] as const;
    const { response, error } = await rawPush(t, address, {
      source: 'raw',
      services: [
        {
          service: 'echo',
          consulIndex: 3,
          protocol: '',
          healthPath: '/healthz',
          endpoints: health.map((h, i) => ({ address: `fd00::${i + 1}`, port: 50051, zone: '', health: h, weight: 0, instanceName: `vm${i}` })),
        },
      ],
    });
    assert.equal(error, undefined);
    assert.deepEqual(response?.results, [{ service: 'echo', outcome: 'OUTCOME_CREATED', currentIndex: 3 }]);
    const echo = store.get('echo');
    assert.equal(echo?.protocol, 'http');
    assert.equal(echo?.healthPath, '/healthz');
    assert.deepEqual(echo?.endpoints.map((e) => [e.address, e.health, e.weight]), [
      ['fd00::1', 'passing', 1],
      ['fd00::2', 'warning', 1],
      ['fd00::3', 'critical', 1],
      ['fd00::4', 'draining', 1],
    ]);
  });

  const invalid: ReadonlyArray<[string, (r: WirePushRequest) => void, string]> = [
    ['a host name instead of an IP', (r) => (r.services[0]!.endpoints[1]!.address = 'vm1.internal'), 'services[0].endpoints[1].address: "vm1.internal" is not an IP literal'],
    ['port 0', (r) => (r.services[0]!.endpoints[0]!.port = 0), 'services[0].endpoints[0].port: must be a port from 1 to 65535, got 0'],
    ['port 70000', (r) => (r.services[0]!.endpoints[0]!.port = 70_000), 'services[0].endpoints[0].port: must be a port from 1 to 65535, got 70000'],
    ['unspecified health', (r) => (r.services[0]!.endpoints[0]!.health = 'ENDPOINT_HEALTH_UNSPECIFIED'), 'services[0].endpoints[0].health: must be passing, warning, critical or draining, got ENDPOINT_HEALTH_UNSPECIFIED'],
    ['consul index 0', (r) => (r.services[1]!.consulIndex = 0), 'services[1].consul_index: must be a Consul index ≥ 1, got 0'],
    ['a bad service name', (r) => (r.services[1]!.service = 'Web_1'), 'services[1].service: "Web_1" is not a service name (1–63 lower-case letters, digits and "-", starting with a letter, not ending with "-")'],
    ['the same service twice', (r) => (r.services[1]!.service = 'web'), 'services[1].service: service "web" appears twice in one push'],
    ['the same endpoint twice', (r) => (r.services[0]!.endpoints[1]!.address = '10.0.0.1'), 'services[0].endpoints[1]: 10.0.0.1 port 8080 appears twice'],
    ['an unknown protocol', (r) => (r.services[0]!.protocol = 'udp'), 'services[0].protocol: "udp" is not one of http, grpc, tcp'],
    ['a health path without a slash', (r) => (r.services[0]!.healthPath = 'healthz'), 'services[0].health_path: "healthz" is not an HTTP path (starts with "/", printable ASCII, at most 256 characters)'],
    ['a huge weight', (r) => (r.services[0]!.endpoints[0]!.weight = 2_000_000), 'services[0].endpoints[0].weight: must be a whole number from 0 (= 1) to 1000000, got 2000000'],
  ];

  test('invalid requests: INVALID_ARGUMENT naming the field, and nothing of the request is stored', async (t) => {
    const { store, address } = await startPushServer(t);
    const valid = (): WirePushRequest => ({
      source: 'raw',
      services: [
        {
          service: 'web',
          consulIndex: 7,
          protocol: 'http',
          healthPath: '',
          endpoints: [
            { address: '10.0.0.1', port: 8080, zone: '1', health: 'ENDPOINT_HEALTH_PASSING', weight: 1, instanceName: 'a' },
            { address: '10.0.0.2', port: 8080, zone: '2', health: 'ENDPOINT_HEALTH_PASSING', weight: 1, instanceName: 'b' },
          ],
        },
        { service: 'api', consulIndex: 7, protocol: 'grpc', healthPath: '', endpoints: [] },
      ],
    });
    for (const [what, spoil, message] of invalid) {
      const request = valid();
      spoil(request);
      const { error } = await rawPush(t, address, request);
      assert.equal(error?.code, grpc.status.INVALID_ARGUMENT, what);
      assert.equal(error?.details, message, what);
    }
    assert.deepEqual(store.serviceNames(), [], 'a request with one bad field changes nothing');
    const { response } = await rawPush(t, address, valid());
    assert.deepEqual(response?.results.map((r) => r.outcome), ['OUTCOME_CREATED', 'OUTCOME_CREATED'], 'the same request, unspoilt, is fine');
  });

  test('a failure of the relay itself while checking a far-ahead push is INTERNAL (reason internal), not index-unverified', async (t) => {
    const rejected: string[] = [];
    const { store, client } = await startPushServer(t, { onRejected: (reason, detail) => rejected.push(`${reason}: ${detail}`) });
    store.offer(endpointSet('web', 100, [endpoint('10.0.0.1')]));
    store.consulIndexSeen(100);
    store.readFromConsul = () => {
      throw new TypeError('a bug in the relay');
    };
    const [result] = await client().publish([endpointSet('web', 100 + 1_000_000, [endpoint('10.0.0.2')])], 'test');
    assert.equal(result?.error, 'INTERNAL: checking the push against Consul failed: TypeError: a bug in the relay');
    assert.deepEqual(rejected, ['internal: checking the push against Consul failed: TypeError: a bug in the relay']);
  });
});
