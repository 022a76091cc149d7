/**
 * Relays are stateless: a relay started again (same port) serves what Consul says now, with no
 * push at all — including changes made while it was down.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { startRelay } from '../../src/relay/relay';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix, type VmSpec } from '../helpers/consul-fixtures';
import { RawAdsClient, nodeFor, type SotwReply } from '../helpers/raw-ads-client';

interface Cla {
  endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string } } }; health_status: string }> }>;
}

function endpointsOf(reply: SotwReply): string[] {
  const type = envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  return reply.resources
    .flatMap((r) => (type.toObject(type.decode(r.bytes), { enums: String, defaults: true }) as Cla).endpoints)
    .flatMap((l) => l.lb_endpoints.map((e) => `${e.endpoint.address.socket_address.address}/${e.health_status}`))
    .sort();
}

test('restart: the relay rebuilds from Consul alone and clients converge without any push', { timeout: 30_000 }, async (t) => {
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const set = scaleSetId(`web-${uniqueSuffix()}`);
  let listedAt = 1_000;
  const apply = async (vms: VmSpec[]) => {
    const session = await registry.beginReconcile(set, (listedAt += 1_000));
    await session.apply(localPlan(set, vms.map((vm) => desiredNode(set, vm)), session));
  };
  const vm = (name: string, ip: string, extra: Partial<VmSpec> = {}): VmSpec => ({ name, ip, zone: '1', services: [{ name: 'web', port: 8080, protocol: 'grpc' }], ...extra });
  await apply([vm('web_0', '10.0.0.1'), vm('web_1', '10.0.0.2')]);

  const env = { VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0', VMSS_MESH_RELAY_PUSH_DISABLED: 'true', CONSUL_HTTP_ADDR: consul.url, VMSS_MESH_RELAY_COALESCE_MS: '5' };
  const log = pino({ level: 'silent' });
  const first = await startRelay(loadRelayConfig({ ...env, VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0' }), { log });
  t.after(() => first.close());
  const client = new RawAdsClient(first.xdsAddress);
  t.after(() => client.close());

  const before = client.sotw(nodeFor('proxyless-grpc', 'client-1'));
  before.send({ kind: 'endpoint', names: ['web'] });
  assert.deepEqual(endpointsOf(await before.next(5_000)), ['10.0.0.1/HEALTHY', '10.0.0.2/HEALTHY']);

  await first.close();
  assert.equal((await before.status()).code, 14, 'the stream ended UNAVAILABLE; the client keeps what it has');

  // While no relay runs: a scale-out and a drain, committed to Consul only.
  await apply([vm('web_0', '10.0.0.1', { draining: true }), vm('web_1', '10.0.0.2'), vm('web_2', '10.0.0.3')]);

  const second = await startRelay(loadRelayConfig({ ...env, VMSS_MESH_RELAY_LISTEN: `127.0.0.1:${first.xdsPort}` }), { log });
  t.after(() => second.close());
  assert.equal(second.xdsAddress, first.xdsAddress);
  const after = client.sotw(nodeFor('proxyless-grpc', 'client-1'));
  t.after(() => after.cancel());
  after.send({ kind: 'endpoint', names: ['web'] });
  assert.deepEqual(endpointsOf(await after.next(5_000)), ['10.0.0.1/DRAINING', '10.0.0.2/HEALTHY', '10.0.0.3/HEALTHY']);
});
