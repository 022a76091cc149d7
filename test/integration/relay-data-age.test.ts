/**
 * The relay's /metrics tell how old its data is: seconds since Consul last answered the watch, and
 * since each service last changed (its Consul index moved, or a push changed it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { RelayMetrics } from '../../src/relay/admin/metrics';
import { loadRelayConfig } from '../../src/relay/relay-config';
import { startRelay } from '../../src/relay/relay';
import { desiredNode, localPlan, registryFor, scaleSetId, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';

/** The value of one series in the text exposition (labels exactly as written), or undefined. */
function series(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('data ages follow the watch answers and the pushes that changed something (injected clock)', async () => {
  let now = 1_000;
  const metrics = new RelayMetrics({ processMetrics: false, now: () => now });
  const watch = metrics.watchObserver();
  const push = metrics.pushHooks();
  const scrape = async () => (await metrics.exposition()).text;

  now += 4_000;
  let text = await scrape();
  assert.equal(series(text, 'vmss_mesh_relay_consul_data_age_seconds'), 4, 'since start while Consul never answered');
  assert.equal(series(text, 'vmss_mesh_relay_consul_never_answered'), 1);
  assert.ok(!text.includes('vmss_mesh_relay_service_last_change_age_seconds{'));

  watch.onRead?.('services', 5);
  watch.onRead?.('service:web', 10);
  now += 7_000;
  text = await scrape();
  assert.equal(series(text, 'vmss_mesh_relay_consul_data_age_seconds'), 7);
  assert.equal(series(text, 'vmss_mesh_relay_consul_never_answered'), 0);
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"'), 7);

  // A blocking query that returns with the same index: Consul answered, the service did not change.
  watch.onRead?.('service:web', 10);
  now += 2_000;
  text = await scrape();
  assert.equal(series(text, 'vmss_mesh_relay_consul_data_age_seconds'), 2);
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"'), 9);

  // The index moved: a change. Pushes count when they changed what is served.
  watch.onRead?.('service:web', 12);
  push.onPush?.('reconcile', [
    { service: 'api', outcome: 'created', currentIndex: 3, changed: true },
    { service: 'old', outcome: 'ignored-stale', currentIndex: 9, changed: false },
  ]);
  now += 1_500;
  text = await scrape();
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"'), 1.5);
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="api"'), 1.5);
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="old"'), undefined);
  assert.equal(series(text, 'vmss_mesh_relay_consul_data_age_seconds'), 1.5, 'the index change was an answer too');
});

test('with the published state, a loaded service dates from the load, a changed one from its change, a removed one drops out', async () => {
  let now = 0;
  const metrics = new RelayMetrics({ processMetrics: false, now: () => now });
  const watch = metrics.watchObserver();
  const web = { endpoints: 1 };
  const api = { endpoints: 2 };
  metrics.recordPublish({ changes: 2, services: 2, endpoints: 3 }, { services: new Map<string, unknown>([['web', web], ['api', api]]) });
  now += 300_000;
  // The blocking query of a loaded service times out with the index it was loaded at: no change.
  watch.onRead?.('service:web', 42);
  let text = (await metrics.exposition()).text;
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"'), 300);
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="api"'), 300);
  // Re-read with only its index moved: not a change.
  metrics.recordPublish({ changes: 1, services: 2, endpoints: 3 }, { services: new Map<string, unknown>([['web', { ...web, consulIndex: 43 }], ['api', api]]) });
  now += 1000;
  text = (await metrics.exposition()).text;
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"'), 301);
  // web's endpoints change, api is gone.
  metrics.recordPublish({ changes: 2, services: 1, endpoints: 2 }, { services: new Map<string, unknown>([['web', { endpoints: 2, consulIndex: 44 }]]) });
  now += 1000;
  text = (await metrics.exposition()).text;
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"'), 1);
  assert.equal(series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="api"'), undefined, 'api is no longer served');
});

test('a running relay exports the age of its Consul data and of each service it loaded', async (t) => {
  const consul = await startDouble(t);
  const registry = registryFor(t, consul.url);
  const set = scaleSetId(`web-${uniqueSuffix()}`);
  const session = await registry.beginReconcile(set, 1_000);
  await session.apply(localPlan(set, [desiredNode(set, { name: 'web_0', ip: '10.0.0.1', zone: '1', services: [{ name: 'web', port: 8080 }] })], session));
  const config = loadRelayConfig({
    VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
    VMSS_MESH_RELAY_TOKEN: 'age-test-token',
    CONSUL_HTTP_ADDR: consul.url,
    VMSS_MESH_RELAY_COALESCE_MS: '5',
    // Blocking queries answer at least every second, so a loaded service's first answer comes soon.
    VMSS_MESH_RELAY_WATCH_WAIT_SECONDS: '1',
  });
  const relay = await startRelay(config, { log: pino({ level: 'silent' }) });
  t.after(() => relay.close());
  await relay.ready;
  const deadline = Date.now() + 15_000;
  let text = '';
  while (series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"') === undefined) {
    assert.ok(Date.now() < deadline, `no age for web within 15 s:\n${text}`);
    if (text !== '') await new Promise((resolve) => setTimeout(resolve, 50));
    text = await (await fetch(`${relay.adminUrl}/metrics`)).text();
  }
  const webAge = series(text, 'vmss_mesh_relay_service_last_change_age_seconds', 'service="web"');
  const consulAge = series(text, 'vmss_mesh_relay_consul_data_age_seconds');
  assert.ok(webAge !== undefined && webAge >= 0 && webAge < 30, text);
  assert.ok(consulAge !== undefined && consulAge >= 0 && consulAge < 30, `consul age ${consulAge}`);
  assert.equal(series(text, 'vmss_mesh_relay_consul_never_answered'), 0);
});
