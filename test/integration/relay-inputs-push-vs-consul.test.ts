/**
 * Consul's own data wins over pushes (issue 9, D3): the real push server, MeshStateStore and
 * ConsulWatch, against a small Consul stand-in that keeps per-service indexes the way Consul does
 * (a service's answer carries the index of its last change; the list carries the latest one) and
 * an injected clock for expiry (no sleeps of that length).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { BlockingRead, ServiceList, WatchSource } from '../../src/relay/inputs/consul-source';
import { ConsulWatch } from '../../src/relay/inputs/consul-watch';
import { MeshStateStore, type OverlayEnd } from '../../src/relay/inputs/mesh-state-store';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import { createPushService, type PushRejection } from '../../src/relay/push/push-server';
import type { MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import { ConfigError, TransientError } from '../../src/shared/errors';
import { startRelay } from '../../src/relay/relay';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { endpoint, endpointSet, recordingPublisher, summary } from '../helpers/relay-inputs';

const TOKEN = 'push-vs-consul';

/** Consul as the watch sees it: blocking reads wake when their own index moves. */
class FakeConsul implements WatchSource {
  index = 100;
  down = false;
  /** Services whose reads fail (Consul answers everything else). */
  readonly failing = new Set<string>();
  /** Blocking reads do not wake (answers in flight for a while); non-blocking reads still answer. */
  holdBlocking = false;
  readonly reads: Array<{ what: string; index: number | undefined }> = [];
  private readonly services = new Map<string, { index: number; endpoints: readonly MeshEndpoint[] }>();
  private waiters: Array<{ what: string; ready: () => boolean; wake: () => void; fail: (e: Error) => void }> = [];

  constructor(initial: Record<string, readonly MeshEndpoint[]>) {
    for (const [name, endpoints] of Object.entries(initial)) this.services.set(name, { index: this.index, endpoints });
  }

  /** A catalog change of one service (undefined endpoints = deregistered). */
  set(service: string, endpoints: readonly MeshEndpoint[] | undefined): number {
    this.index += 1;
    if (endpoints) this.services.set(service, { index: this.index, endpoints });
    else this.services.delete(service);
    this.wake();
    return this.index;
  }

  /** Writes that are not the catalog (KV, sessions): Consul's index moves, no catalog query wakes. */
  otherWrites(n: number): void {
    this.index += n;
  }

  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const w of this.waiters.splice(0)) w.fail(new TransientError('connection refused (Consul down)', 'consul'));
  }

  /** Reads of `service` fail (a waiting one at once) until called with `failing` false. */
  setServiceFailing(service: string, failing: boolean): void {
    if (!failing) return void this.failing.delete(service);
    this.failing.add(service);
    this.waiters = this.waiters.filter((w) => w.what !== `service:${service}` || void w.fail(new TransientError(`${service}: 500`, 'consul')));
  }

  setHoldBlocking(hold: boolean): void {
    this.holdBlocking = hold;
    this.wake();
  }

  async ownedServices(read: BlockingRead): Promise<ServiceList> {
    this.reads.push({ what: 'services', index: read.index });
    await this.block('services', read, () => this.catalogIndex());
    return { index: this.catalogIndex(), services: [...this.services.keys()].sort() };
  }

  async serviceEndpoints(service: string, read: BlockingRead): Promise<ServiceEndpointSet> {
    this.reads.push({ what: `service:${service}`, index: read.index });
    if (this.failing.has(service)) throw new TransientError(`${service}: 500`, 'consul');
    await this.block(`service:${service}`, read, () => this.services.get(service)?.index ?? this.catalogIndex());
    const held = this.services.get(service);
    return endpointSet(service, held?.index ?? this.catalogIndex(), held?.endpoints ?? []);
  }

  close(): void {
    for (const w of this.waiters.splice(0)) w.fail(new Error('source closed'));
  }

  private catalogIndex(): number {
    return Math.max(...[...this.services.values()].map((s) => s.index), 1);
  }

  private block(what: string, read: BlockingRead, indexNow: () => number): Promise<void> {
    if (this.down) return Promise.reject(new TransientError('connection refused (Consul down)', 'consul'));
    const blocking = read.index !== undefined && read.index > 0;
    const ready = () => !blocking || (!this.holdBlocking && indexNow() > (read.index as number));
    if (ready()) return Promise.resolve();
    return new Promise((wake, fail) => this.waiters.push({ what, ready, wake, fail }));
  }

  private wake(): void {
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.ready() ? w.wake : () => still.push(w))();
    this.waiters = still;
  }
}

async function startRelayInputs(t: TestContext, consul: FakeConsul, options: { overlayTtlMs?: number; maxIndexAhead?: number } = {}) {
  let now = 0;
  const recorder = recordingPublisher();
  const ended: string[] = [];
  const rejected: string[] = [];
  const store = new MeshStateStore({
    gatewayRoutes: [],
    coalesceMs: 0,
    publish: recorder.publish,
    now: () => now,
    push: { overlayTtlMs: options.overlayTtlMs ?? 60_000, maxIndexAhead: options.maxIndexAhead ?? 1_000, recheckGraceMs: 1_000, sweepIntervalMs: 5 },
    onOverlayEnded: (service: string, reason: OverlayEnd, index: number) => ended.push(`${service}@${index} ${reason}`),
  });
  const watch = new ConsulWatch({ source: consul, store, waitSeconds: 300, minIntervalMs: 0, maxBackoffMs: 20, initialBackoffMs: 5, random: () => 1 });
  t.after(() => store.close());
  t.after(() => watch.close());
  const service = createPushService({ store, token: TOKEN, hooks: { onRejected: (reason: PushRejection, detail: string) => rejected.push(`${reason}: ${detail}`) } });
  const server = new grpc.Server();
  server.addService(service.definition, service.implementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  const client = new GrpcPushClient({ targets: [`127.0.0.1:${port}`], token: TOKEN });
  t.after(() => client.close());
  watch.start();
  await watch.loaded;
  const push = async (set: ServiceEndpointSet) => (await client.publish([set], 'test'))[0]!;
  const served = (service: string) => summary(recorder.states.at(-1)!)[service];
  const waitServed = (service: string, expected: string[] | undefined, what: string) =>
    recorder.waitFor((s) => JSON.stringify(summary(s)[service]) === JSON.stringify(expected), 5_000, what);
  return { store, watch, recorder, ended, rejected, push, served, waitServed, advance: (ms: number) => (now += ms) };
}

const A = [endpoint('10.0.0.1')];
const B = [endpoint('10.0.0.2')];
const C = [endpoint('10.0.0.3')];
const D = [endpoint('10.0.0.4')];
const ep = (set: readonly MeshEndpoint[]) => set.map((e) => `${e.address}:${e.port}/${e.health}`);

describe('pushes against Consul: Consul wins', { concurrency: true, timeout: 30_000 }, () => {
  test('a push at the latest Consul index + 10^9 is refused and freezes nothing: later watch answers and honest pushes take effect', async (t) => {
    const consul = new FakeConsul({ web: A });
    const r = await startRelayInputs(t, consul);
    const inflated = await r.push(endpointSet('web', consul.index + 1_000_000_000, [endpoint('10.6.6.6')]));
    consul.set('web', B);
    await r.waitServed('web', ep(B), 'the next watch answer');
    assert.equal(inflated.ok, false);
    assert.match(inflated.error ?? '', /^FAILED_PRECONDITION: services\[0\]\.consul_index: 1000000100 is more than 1000 ahead of Consul's index 100 /);
    assert.deepEqual(r.rejected.map((x) => x.split(':')[0]), ['index-ahead']);
    assert.ok(consul.reads.some((x) => x.what === 'service:web' && x.index === undefined), 'the claim was checked with one read of the service from Consul');
    const honest = await r.push(endpointSet('web', consul.index + 3, C));
    assert.deepEqual(honest.services, [{ service: 'web', outcome: 'accepted', currentIndex: consul.index + 3 }]);
    await r.waitServed('web', ep(C), 'an honest push');
    consul.otherWrites(2);
    consul.set('web', D);
    await r.waitServed('web', ep(D), 'the watch answer at the pushed index');
  });

  test('a push far ahead that Consul confirms (its index moved with writes the watch does not see) is taken after one read', async (t) => {
    const consul = new FakeConsul({ web: A });
    const r = await startRelayInputs(t, consul);
    consul.setHoldBlocking(true); // the watch's answer is still in flight when the push arrives
    consul.otherWrites(50_000);
    const committed = consul.set('web', B);
    const result = await r.push(endpointSet('web', committed, B));
    assert.equal(result.ok, true, result.error);
    await r.waitServed('web', ep(B), 'the confirmed push');
    assert.deepEqual(r.rejected, []);
  });

  test('a pushed service Consul does not list disappears after the expiry (injected clock)', async (t) => {
    const consul = new FakeConsul({ web: A });
    const r = await startRelayInputs(t, consul, { overlayTtlMs: 60_000 });
    assert.equal((await r.push(endpointSet('ghost', consul.index + 5, B))).ok, true);
    await r.waitServed('ghost', ep(B), 'the pushed service');
    r.advance(60_000);
    await r.waitServed('ghost', undefined, 'the ghost service gone after its expiry');
    assert.deepEqual(r.ended, ['ghost@105 expired']);

    assert.equal((await r.push(endpointSet('ghost2', consul.index + 5, B))).ok, true);
    await r.waitServed('ghost2', ep(B), 'a second pushed service');
    r.advance(59_999);
    r.store.sweep();
    assert.deepEqual(r.store.pushedServices(), ['ghost2'], 'not before its time');
  });

  test('once Consul has reached a pushed index, the service is read again and that answer replaces a push Consul never had', async (t) => {
    const consul = new FakeConsul({ web: A, api: A });
    const r = await startRelayInputs(t, consul);
    assert.equal((await r.push(endpointSet('web', 103, [endpoint('10.6.6.6')]))).ok, true);
    await r.waitServed('web', ['10.6.6.6:8080/passing'], 'the push');
    for (const set of [B, C, D]) consul.set('api', set); // Consul reaches 103 without web changing
    await r.waitServed('api', ep(D), 'the other service');
    assert.deepEqual(r.served('web'), ['10.6.6.6:8080/passing'], 'the grace for web’s own answer');
    r.advance(1_000);
    await r.waitServed('web', ep(A), "Consul's answer after the re-check");
    assert.deepEqual(r.ended, ['web@103 contradicted']);
  });

  test("the watch's answer at or after the pushed index replaces the push; an older one does not", async (t) => {
    const consul = new FakeConsul({ web: A });
    const r = await startRelayInputs(t, consul);
    assert.equal((await r.push(endpointSet('web', 103, B))).ok, true);
    await r.waitServed('web', ep(B), 'the push');
    consul.set('web', C); // 101: an answer the push is newer than (in flight when it was made)
    await until(() => consul.reads.some((x) => x.what === 'service:web' && x.index === 101));
    assert.deepEqual(r.served('web'), ep(B));
    consul.otherWrites(1);
    consul.set('web', D); // 103
    await r.waitServed('web', ep(D), 'the answer at the pushed index');
    assert.deepEqual(r.ended, ['web@103 confirmed']);
  });

  test('while Consul is unreachable a pushed removal holds past the expiry; once Consul answers again, the expiry runs and Consul wins', async (t) => {
    const consul = new FakeConsul({ web: [...A, ...B] });
    const r = await startRelayInputs(t, consul, { overlayTtlMs: 60_000 });
    consul.setDown(true);
    await until(() => r.watch.state === 'backoff');
    assert.equal((await r.push(endpointSet('web', 105, A))).ok, true);
    await r.waitServed('web', ep(A), 'the pushed removal');
    r.advance(10 * 60_000);
    r.store.sweep();
    assert.deepEqual(r.served('web'), ep(A), 'no expiry while Consul cannot answer');
    consul.setDown(false);
    consul.set('web', [...A, ...B, ...C]); // 101: Consul answers again, older than the push
    await until(() => r.watch.state === 'watching');
    r.store.sweep();
    assert.deepEqual(r.served('web'), ep(A), 'an answer older than the push does not replace it');
    r.advance(59_000);
    r.store.sweep();
    assert.deepEqual(r.served('web'), ep(A), 'the expiry counts from Consul’s return');
    r.advance(1_000);
    await r.waitServed('web', ep([...A, ...B, ...C]), "Consul's data once the push expired");
    assert.deepEqual(r.ended, ['web@105 expired']);
  });

  test('one service loop backing off does not pause the expiry: the list loop still reaches Consul', async (t) => {
    const consul = new FakeConsul({ web: A, api: A });
    const r = await startRelayInputs(t, consul, { overlayTtlMs: 60_000 });
    consul.setServiceFailing('api', true);
    await until(() => r.watch.state === 'backoff');
    assert.equal((await r.push(endpointSet('ghost', consul.index + 5, B))).ok, true);
    await r.waitServed('ghost', ep(B), 'the pushed service');
    r.advance(60_000);
    await r.waitServed('ghost', undefined, 'the pushed service gone after its expiry');
    assert.deepEqual(r.ended, ['ghost@105 expired']);
  });
});

describe('MeshStateStore push overlays', () => {
  test('before the first Consul answer the bound is unknown: pushes are held, and those beyond it end at the load', (t) => {
    const ended: string[] = [];
    const recorder = recordingPublisher();
    const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 0, publish: recorder.publish, onOverlayEnded: (s, reason) => ended.push(`${s} ${reason}`) });
    t.after(() => store.close());
    assert.equal(store.pushIndexBound(), undefined);
    assert.equal(store.offerPush(endpointSet('web', 1_000_000_500, B)).outcome, 'created');
    assert.equal(store.offerPush(endpointSet('api', 520, B)).outcome, 'created');
    store.offer(endpointSet('web', 500, A));
    store.offer(endpointSet('api', 500, A));
    store.markLoaded();
    assert.deepEqual(ended, ['web beyond-consul']);
    assert.deepEqual(summary(recorder.states[0]!), { api: ep(B), web: ep(A) });
    assert.deepEqual(store.pushIndexBound(), { latest: 500, maxIndexAhead: 1_000, limit: 1_500 });
  });

  test('a push not newer than Consul’s answer adds nothing; Consul’s list at or after a pushed index removes it', (t) => {
    const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 0, publish: () => undefined });
    t.after(() => store.close());
    store.offer(endpointSet('web', 10, A));
    assert.deepEqual(store.offerPush(endpointSet('web', 10, B)), { outcome: 'accepted', currentIndex: 10, changed: false });
    assert.deepEqual(store.offerPush(endpointSet('new', 12, B)), { outcome: 'created', currentIndex: 12, changed: true });
    assert.equal(store.remove('new', 11), false, 'a list older than the push');
    assert.equal(store.remove('new', 12), true);
    assert.deepEqual(store.serviceNames(), ['web']);
  });
});

function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(check, 2);
    };
    check();
  });
}

describe('the relay wires the push rules', { timeout: 30_000 }, () => {
  test('settings: defaults, flags, and a clear error for a bad value', () => {
    const base = { VMSS_MESH_RELAY_TOKEN: 'x' };
    assert.deepEqual(loadRelayConfig(base).pushOverlay, { maxIndexAhead: 1_000, overlayTtlMs: 60_000 });
    assert.deepEqual(loadRelayConfig({ ...base, VMSS_MESH_RELAY_PUSH_MAX_INDEX_AHEAD: '50' }, { VMSS_MESH_RELAY_PUSH_EXPIRY_MS: '5000' }).pushOverlay, { maxIndexAhead: 50, overlayTtlMs: 5_000 });
    assert.throws(() => loadRelayConfig({ ...base, VMSS_MESH_RELAY_PUSH_EXPIRY_MS: '10' }), (e: unknown) => e instanceof ConfigError && e.setting === 'VMSS_MESH_RELAY_PUSH_EXPIRY_MS' && /invalid value "10"/.test(e.message));
  });

  test('startRelay: an inflated push is refused with FAILED_PRECONDITION, counted and logged; an honest one is served', async (t) => {
    const consul = await startConsulDouble();
    t.after(() => consul.close());
    const logged: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line).msg as string) });
    const config = loadRelayConfig({ VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0', VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0', VMSS_MESH_RELAY_TOKEN: TOKEN, CONSUL_HTTP_ADDR: consul.url, VMSS_MESH_RELAY_COALESCE_MS: '0' });
    const relay = await startRelay(config, { log, processMetrics: false });
    t.after(() => relay.close());
    await relay.ready;
    const client = new GrpcPushClient({ targets: [relay.xdsAddress], token: TOKEN });
    t.after(() => client.close());
    const latest = relay.meshState.pushIndexBound()!.latest;
    const [inflated] = await client.publish([endpointSet('api', latest + 1_000_000_000, B)], 'test');
    assert.match(inflated?.error ?? '', /^FAILED_PRECONDITION: services\[0\]\.consul_index: \d+ is more than 1000 ahead of Consul's index \d+/);
    assert.equal(relay.meshState.get('api'), undefined);
    const [honest] = await client.publish([endpointSet('api', latest + 1, B)], 'test');
    assert.deepEqual(honest?.services, [{ service: 'api', outcome: 'created', currentIndex: latest + 1 }]);
    const metrics = (await relay.metrics.exposition()).text;
    assert.match(metrics, /vmss_mesh_relay_push_requests_rejected_total\{reason="index-ahead"\} 1/);
    assert.match(metrics, /# HELP vmss_mesh_relay_push_overlays_ended_total /);
    assert.ok(logged.some((m) => m.startsWith('push refused: services[0].consul_index')), logged.join('\n'));
  });
});
