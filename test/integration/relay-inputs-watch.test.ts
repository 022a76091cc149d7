/**
 * The relay's Consul watch against the Consul double, with the real ConsulRegistry writing the
 * data the way the Functions app does (claimed reconciles, fenced transactions, our marks).
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { consulWatchSource } from '../../src/relay/inputs/consul-source';
import { ConsulWatch, type WatchObserver } from '../../src/relay/inputs/consul-watch';
import { MeshStateStore } from '../../src/relay/inputs/mesh-state-store';
import type { ConsulDouble } from '../../src/sandbox/consul-double';
import { consulConfigFor, consulHttp, desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix, type VmSpec } from '../helpers/consul-fixtures';
import { recordingPublisher, summary, until } from '../helpers/relay-inputs';

/** Applies "the scale set now has exactly these VMs" through the registry, as a reconcile would. */
function reconciler(t: TestContext, url: string) {
  const registry = registryFor(t, url);
  let listedAt = 1_000;
  return async (scaleSet: string, vms: readonly VmSpec[]) => {
    listedAt += 1_000;
    const session = await registry.beginReconcile(scaleSet, listedAt);
    return session.apply(localPlan(scaleSet, vms.map((vm) => desiredNode(scaleSet, vm)), session));
  };
}

function startWatch(t: TestContext, url: string, options: { waitSeconds?: number; initialBackoffMs?: number } = {}) {
  const recorder = recordingPublisher();
  const store = new MeshStateStore({ gatewayRoutes: [], coalesceMs: 5, publish: recorder.publish });
  const events: string[] = [];
  const reads: Array<{ what: string; index: number }> = [];
  const wakers = new Set<() => void>();
  const observer: WatchObserver = {
    onRead: (what, index) => {
      reads.push({ what, index });
      for (const wake of [...wakers]) wake();
    },
    onIndexReset: (what, held, received) => events.push(`reset ${what} ${held}→${received}`),
    onError: (what, error, retryInMs) => events.push(`error ${what}: ${(error as Error).message} (retry in ${retryInMs} ms)`),
    onState: (state) => events.push(`state ${state}`),
  };
  const watch = new ConsulWatch({
    source: consulWatchSource(consulConfigFor(url)),
    store,
    waitSeconds: options.waitSeconds ?? 300,
    minIntervalMs: 0,
    maxBackoffMs: 40,
    initialBackoffMs: options.initialBackoffMs ?? 5,
    random: () => 1,
    observer,
  });
  t.after(() => store.close());
  t.after(() => watch.close());
  watch.start();
  const readPast = (what: string, index: number) =>
    until(() => reads.some((r) => r.what === what && r.index >= index), (wake) => (wakers.add(wake), () => wakers.delete(wake)), 5_000, `a read of ${what} at ≥ ${index}`);
  return { watch, store, recorder, events, readPast };
}

/** A TCP-level stand-in for "Consul was rebuilt": forwards to whichever double is current. */
async function switchableProxy(t: TestContext, first: ConsulDouble): Promise<{ url: string; switchTo(next: ConsulDouble): void }> {
  let target = first;
  const server: Server = createServer((req, res) => {
    const upstream = request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, switchTo: (next) => (target = next) };
}

const web = (name: string, ip: string, extra: Partial<VmSpec> = {}): VmSpec => ({ name, ip, zone: '1', services: [{ name: 'web', port: 8080 }], ...extra });

describe('Consul watch against the Consul double', { concurrency: true, timeout: 30_000 }, () => {
  test('loads our services at start, then follows scale-out, drain, a new service and a removed one', async (t) => {
    const consul = await startDouble(t);
    const apply = reconciler(t, consul.url);
    const webSet = scaleSetId(`web-${uniqueSuffix()}`);
    const echoSet = scaleSetId(`echo-${uniqueSuffix()}`);
    await apply(webSet, [web('web_0', '10.0.0.1'), web('web_1', '10.0.0.2', { zone: '2', status: 'warning' })]);
    await apply(echoSet, [{ name: 'echo_0', ip: '10.0.1.1', zone: '3', services: [{ name: 'echo', port: 50051, protocol: 'grpc' }] }]);
    // Not ours: an agent-style registration of a service with the same name, and an untagged service.
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: 'hand-made', Address: '10.9.9.9', Service: { Service: 'web', Port: 80 } } });
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: 'hand-made', Address: '10.9.9.9', Service: { Service: 'legacy', Port: 81 } } });

    const { watch, recorder } = startWatch(t, consul.url);
    await watch.loaded;
    assert.equal(recorder.states.length, 1, 'one publish for the whole initial load');
    assert.deepEqual(summary(recorder.states[0]!), { echo: ['10.0.1.1:50051/passing'], web: ['10.0.0.1:8080/passing', '10.0.0.2:8080/warning'] });
    assert.equal(recorder.states[0]!.services.get('echo')?.protocol, 'grpc');
    assert.deepEqual(recorder.states[0]!.services.get('web')?.endpoints.map((e) => [e.zone, e.instanceName]), [['1', 'web_0'], ['2', 'web_1']]);

    await apply(webSet, [web('web_0', '10.0.0.1'), web('web_1', '10.0.0.2', { zone: '2', status: 'warning' }), web('web_2', '10.0.0.3')]);
    await recorder.waitFor((s) => s.services.get('web')?.endpoints.length === 3, 5_000, 'scale-out');

    await apply(webSet, [web('web_0', '10.0.0.1'), web('web_1', '10.0.0.2', { zone: '2' }), web('web_2', '10.0.0.3', { draining: true })]);
    const drained = await recorder.waitFor((s) => s.services.get('web')?.endpoints[2]?.health === 'draining', 5_000, 'drain');
    assert.deepEqual(summary(drained).web, ['10.0.0.1:8080/passing', '10.0.0.2:8080/passing', '10.0.0.3:8080/draining']);

    const apiSet = scaleSetId(`api-${uniqueSuffix()}`);
    await apply(apiSet, [{ name: 'api_0', ip: '10.0.2.1', services: [{ name: 'api', port: 9000 }] }]);
    await recorder.waitFor((s) => s.services.has('api'), 5_000, 'the new service');

    await apply(echoSet, []);
    const final = await recorder.waitFor((s) => !s.services.has('echo'), 5_000, 'the removed service');
    assert.deepEqual(Object.keys(summary(final)), ['api', 'web']);
    assert.deepEqual(watch.watchedServices(), ['api', 'web']);
    assert.ok(!consul.state.requests.some((r) => r.path === '/v1/health/service/legacy'), 'untagged services are never watched');
  });

  test('a push ahead of Consul is kept until the watch reads an index at least as new', async (t) => {
    const consul = await startDouble(t);
    const apply = reconciler(t, consul.url);
    const set = scaleSetId(`web-${uniqueSuffix()}`);
    const start = consul.state.index;
    await apply(set, [web('web_0', '10.0.0.1')]);
    const perReconcile = consul.state.index - start; // claim, transaction(s), summary
    const { watch, store, recorder, readPast } = startWatch(t, consul.url);
    await watch.loaded;

    // Another relay's app pushed a commit this Consul reaches only with the second reconcile below.
    const pushedAt = consul.state.index + perReconcile + 1;
    const pushed = { service: 'web', consulIndex: pushedAt, protocol: 'http', endpoints: [{ address: '10.0.0.7', port: 8080, zone: '1', health: 'passing' as const, weight: 1, instanceName: 'web_7' }] };
    assert.equal(store.offerPush(pushed).outcome, 'accepted');
    await recorder.waitFor((s) => s.services.get('web')?.endpoints[0]?.address === '10.0.0.7', 5_000, 'the push');

    const first = await apply(set, [web('web_0', '10.0.0.1'), web('web_1', '10.0.0.2')]);
    assert.ok(first.committedIndex < pushedAt);
    await readPast('service:web', first.committedIndex);
    assert.deepEqual(store.get('web')?.endpoints.map((e) => e.address), ['10.0.0.7'], 'an older watch answer does not undo the push');

    const second = await apply(set, [web('web_0', '10.0.0.1'), web('web_1', '10.0.0.2'), web('web_2', '10.0.0.3')]);
    assert.ok(second.committedIndex >= pushedAt);
    const caughtUp = await recorder.waitFor((s) => s.services.get('web')?.endpoints.length === 3, 5_000, 'the watch catching up');
    assert.deepEqual(summary(caughtUp).web, ['10.0.0.1:8080/passing', '10.0.0.2:8080/passing', '10.0.0.3:8080/passing']);
  });

  test("Consul rebuilt with a lower index: the watch resets to 0 and takes the new cluster's state", async (t) => {
    const before = await startDouble(t);
    const proxy = await switchableProxy(t, before);
    const set = scaleSetId(`web-${uniqueSuffix()}`);
    const applyBefore = reconciler(t, before.url);
    // Enough history that the old cluster's indexes are well above the new one's.
    for (let i = 0; i < 4; i += 1) await applyBefore(set, [web('web_0', '10.0.0.1'), ...(i % 2 ? [web('web_1', '10.0.0.2')] : [])]);
    await applyBefore(set, [web('web_0', '10.0.0.1'), web('web_1', '10.0.0.2')]);
    const { watch, recorder, events } = startWatch(t, proxy.url, { waitSeconds: 1 });
    await watch.loaded;
    const oldIndex = watch.servicesIndex;

    const after = await startDouble(t);
    await reconciler(t, after.url)(set, [web('web_5', '10.0.0.5')]);
    assert.ok(after.state.index < oldIndex, `new cluster index ${after.state.index} < old ${oldIndex}`);
    let unindexedReads = 0;
    const wakers = new Set<() => void>();
    after.state.setBeforeRequest((info) => {
      if (info.path === '/v1/health/service/web' && !info.query.has('index')) unindexedReads += 1;
      for (const wake of [...wakers]) wake();
    });
    proxy.switchTo(after);
    await before.close(); // ends the blocked queries; the next ones reach the new cluster

    const rebuilt = await recorder.waitFor((s) => summary(s).web?.join() === '10.0.0.5:8080/passing', 5_000, "the new cluster's endpoints");
    assert.deepEqual(Object.keys(summary(rebuilt)), ['web']);
    assert.ok(events.some((e) => e.startsWith('reset service:web ')), events.join('\n'));
    // After the reset the watch reads once without an index (index 0), then blocks again.
    await until(() => unindexedReads >= 1, (wake) => (wakers.add(wake), () => wakers.delete(wake)), 5_000, 'a read without an index');
  });

  test('Consul errors: the initial load is retried with backoff, readiness waits for it', async (t) => {
    let failures = 2;
    const consul = await startDouble(t, {
      beforeRequest: (info) => {
        if (info.path === '/v1/catalog/services' && failures > 0) {
          failures -= 1;
          return failures === 1 ? { status: 500, body: 'rpc error: No cluster leader' } : { status: 429, body: 'rate limited', headers: { 'Retry-After': '0' } };
        }
        return undefined;
      },
    });
    await reconciler(t, consul.url)(scaleSetId(`web-${uniqueSuffix()}`), [web('web_0', '10.0.0.1')]);
    const { watch, store, events } = startWatch(t, consul.url);
    assert.equal(store.loaded, false);
    await watch.loaded;
    assert.deepEqual(events.filter((e) => e.startsWith('error')), [
      'error initial-load: Consul GET /v1/catalog/services answered 500: rpc error: No cluster leader (retry in 5 ms)',
      'error initial-load: Consul GET /v1/catalog/services answered 429: rate limited (retry in 10 ms)',
    ]);
    assert.deepEqual(store.serviceNames(), ['web']);
  });

  test('close ends blocking queries that would otherwise wait for minutes', async (t) => {
    const blocking = new Set<string>();
    const wakers = new Set<() => void>();
    const consul = await startDouble(t, {
      beforeRequest: (info) => {
        if (info.query.has('index')) blocking.add(info.path);
        for (const wake of [...wakers]) wake();
      },
    });
    await reconciler(t, consul.url)(scaleSetId(`web-${uniqueSuffix()}`), [web('web_0', '10.0.0.1')]);
    const { watch } = startWatch(t, consul.url, { waitSeconds: 300 });
    await watch.loaded;
    await until(() => blocking.has('/v1/health/service/web') && blocking.has('/v1/catalog/services'), (wake) => (wakers.add(wake), () => wakers.delete(wake)), 5_000, 'both blocking queries');
    const started = performance.now();
    await watch.close();
    assert.ok(performance.now() - started < 1_000, `close took ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(watch.state, 'stopped');
  });
});
