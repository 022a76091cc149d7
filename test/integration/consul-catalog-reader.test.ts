/**
 * The read-only catalog reader alone answers every read the relay makes (our service names and one
 * service's endpoint set, each at once and blocking) and the registry's catalog reads, against the
 * Consul double with data written by the real registry; it sends nothing but GETs, and its types
 * hold no way to write.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { CatalogReader } from '../../src/shared/consul/catalog-reader';
import type { ConsulGets } from '../../src/shared/consul/owned-reader';
import type { ConsulDouble } from '../../src/sandbox/consul-double';
import { consulConfigFor, consulHttp, desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix, vmResourceId, type VmSpec } from '../helpers/consul-fixtures';

const echo = { name: 'echo', port: 50051, protocol: 'grpc' };
const web = { name: 'web', port: 8080 };

/**
 * A scale set of three VMs written by the registry, a hand-registered node carrying `web` and
 * `other`, and services without our tag added by hand to our nodes.
 */
async function world(t: TestContext) {
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const ss = scaleSetId(`reader-${uniqueSuffix()}`);
  let listedAt = 1_000;
  const write = async (vms: readonly VmSpec[]) => {
    listedAt += 1_000;
    const session = await registry.beginReconcile(ss, listedAt);
    return session.apply(localPlan(ss, vms.map((vm) => desiredNode(ss, vm)), session));
  };
  const vms: VmSpec[] = [
    { name: 'a', ip: '10.0.0.1', zone: '1', services: [web, echo] },
    { name: 'b', ip: '10.0.0.2', zone: '2', status: 'critical', services: [web] },
    { name: 'c', ip: '10.0.0.3', draining: true, services: [web] },
  ];
  await write(vms);
  const hand = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
    body: { Node: 'legacy-1', Address: '192.168.0.9', Service: { ID: 'web', Service: 'web', Port: 8080 } },
  });
  assert.equal(hand.status, 200);
  const other = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
    body: { Node: 'legacy-1', Address: '192.168.0.9', Service: { ID: 'other', Service: 'other', Port: 9000 } },
  });
  assert.equal(other.status, 200);
  // By hand on our own nodes, without our tag: a sidecar service, and a second `web` instance.
  for (const [vm, id, name] of [[vms[0]!, 'sidecar', 'sidecar'], [vms[1]!, 'web-by-hand', 'web']] as const) {
    const onOurs = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
      body: { Node: desiredNode(ss, vm).node, SkipNodeUpdate: true, Service: { ID: id, Service: name, Port: 9100 } },
    });
    assert.equal(onOurs.status, 200);
  }
  const reader = CatalogReader.connect(consulConfigFor(consul.url));
  t.after(() => reader.close());
  return { consul, ss, vms, write, reader };
}

/** Resolves once the double receives a blocking read (`?index=`) of `path`. */
function blockingReadArrives(consul: ConsulDouble, path: string): Promise<void> {
  return new Promise((resolve) => {
    consul.state.setBeforeRequest((info) => {
      if (info.method === 'GET' && info.path === path && info.query.has('index')) {
        consul.state.setBeforeRequest(undefined);
        resolve();
      }
    });
  });
}

describe('CatalogReader against the Consul double', { concurrency: true, timeout: 30_000 }, () => {
  test('answers the relay reads at once: our service names and each endpoint set, nothing hand-registered, only GETs', async (t) => {
    const { consul, ss, reader } = await world(t);
    consul.state.clearRequests();

    const names = await reader.ownedServiceNames();
    assert.deepEqual(names.services, ['echo', 'web'], 'neither `other` (not on our nodes) nor `sidecar` (not our tag) is ours');
    const ourMeta = `node-meta=${encodeURIComponent('external-source:vmss-mesh')}`;
    assert.equal(names.index, (await consulHttp(consul.url, 'GET', `/v1/catalog/services?${ourMeta}`)).index);
    assert.ok(names.index > 0);

    const set = await reader.serviceEndpointSet('web');
    assert.equal(set.service, 'web');
    assert.equal(set.protocol, 'http');
    assert.equal(set.consulIndex, (await consulHttp(consul.url, 'GET', `/v1/health/service/web?tag=vmss-mesh&${ourMeta}`)).index);
    assert.deepEqual(
      set.endpoints.map((e) => [e.instanceName, e.address, e.port, e.zone, e.health, e.scaleSet]),
      [
        ['a', '10.0.0.1', 8080, '1', 'passing', ss],
        ['b', '10.0.0.2', 8080, '2', 'critical', ss],
        ['c', '10.0.0.3', 8080, '', 'draining', ss],
      ],
      'the hand-registered instances of `web` (on legacy-1, and on b without our tag) are not published',
    );
    const both = await reader.serviceEndpoints(['web', 'echo', 'web']);
    assert.deepEqual(both.map((s) => [s.service, s.protocol, s.endpoints.map((e) => e.instanceName)]), [
      ['echo', 'grpc', ['a']],
      ['web', 'http', ['a', 'b', 'c']],
    ]);

    assert.equal(await reader.scaleSetOfInstance(vmResourceId(ss, 'B').toUpperCase()), ss);
    assert.equal(await reader.scaleSetOfInstance(vmResourceId(ss, 'nobody')), null);
    const owned = (await reader.ownedNodes()).map((n) => [n.address, n.instanceResourceId, n.draining]).sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    assert.deepEqual(owned, [
      ['10.0.0.1', vmResourceId(ss, 'a'), false],
      ['10.0.0.2', vmResourceId(ss, 'b'), false],
      ['10.0.0.3', vmResourceId(ss, 'c'), true],
    ]);

    const sent = consul.state.requests;
    assert.ok(sent.length >= 10, `the reads reached the double (${sent.length} requests)`);
    assert.deepEqual([...new Set(sent.map((r) => r.method))], ['GET']);
  });

  test('blocking reads return once the catalog moves past the index the relay holds', async (t) => {
    const { consul, vms, write, reader } = await world(t);
    const first = await reader.serviceEndpointSet('web');

    let settled = false;
    const arrived = blockingReadArrives(consul, '/v1/health/service/web');
    const watched = reader.serviceEndpointSet('web', { index: first.consulIndex, wait: '10s' }).finally(() => (settled = true));
    await arrived;
    assert.equal(settled, false, 'nothing changed yet: the read waits');
    const drained = await write(vms.slice(0, 2));
    const changed = await watched;
    assert.ok(changed.consulIndex > first.consulIndex && changed.consulIndex >= drained.committedIndex);
    assert.deepEqual(changed.endpoints.map((e) => e.instanceName), ['a', 'b']);

    const names = await reader.ownedServiceNames();
    const namesArrived = blockingReadArrives(consul, '/v1/catalog/services');
    const namesWatched = reader.ownedServiceNames({ index: names.index, wait: '10s' });
    await namesArrived;
    await write([...vms.slice(0, 2), { name: 'd', ip: '10.0.0.4', services: [{ name: 'api', port: 7000 }] }]);
    const grown = await namesWatched;
    assert.ok(grown.index > names.index);
    assert.deepEqual(grown.services, ['api', 'echo', 'web']);
  });

  test('holds no way to write: the door it reads through takes GETs only, and it is private', () => {
    const door: ConsulGets = { call: () => Promise.reject(new Error('not called')) };
    const reader = new CatalogReader({ ...door, close: () => undefined });
    const typeChecksOnly = (): void => {
      // @ts-expect-error a reader's door refuses anything but GET
      void door.call({ method: 'PUT', path: '/txn', body: [] });
      // @ts-expect-error the door a reader holds is an ES private field: no property reaches it
      void reader.consul;
    };
    void typeChecksOnly;
    assert.deepEqual(Object.keys(reader), [], 'nothing of the reader is reachable but its methods');
    const surface: Record<keyof CatalogReader, true> = {
      ownedNodeRecords: true,
      ownedState: true,
      ownedNodes: true,
      ownedServiceNames: true,
      serviceEndpointSet: true,
      serviceEndpoints: true,
      scaleSetOfInstance: true,
      close: true,
    };
    assert.deepEqual(Object.getOwnPropertyNames(CatalogReader.prototype).filter((n) => n !== 'constructor').sort(), Object.keys(surface).sort());
  });
});
