import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, SETTINGS } from '../../src/shared/config';
import { ConfigError } from '../../src/shared/errors';

const root = path.resolve(__dirname, '../..');
const HOST_SETTINGS = ['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsStorage'];

test('config: defaults fill every setting', () => {
  const config = loadConfig({ VMSS_MESH_SUBSCRIPTIONS: 'AAAA-1, bbbb-2' });
  assert.deepEqual(config.scope, { subscriptions: ['aaaa-1', 'bbbb-2'], resourceGroups: [] });
  assert.equal(config.arm.endpoint, 'https://management.azure.com');
  assert.equal(config.arm.staticToken, undefined);
  assert.equal(config.consul.url.href, 'http://127.0.0.1:8500/');
  assert.equal(config.txnBatchSize, 64);
  assert.equal(config.maxRemovalShare, 0.5);
  assert.equal(config.tombstoneTtlMs, 600_000);
  assert.equal(config.reconcileSchedule, '0 */5 * * * *');
  assert.deepEqual(config.relay.targets, []);
  assert.equal(config.consul.insecureSkipVerify, false);
});

test('config: Consul address as host:port or URL', () => {
  assert.equal(loadConfig({ VMSS_MESH_SUBSCRIPTIONS: 's', CONSUL_HTTP_ADDR: '10.0.0.4:8501' }).consul.url.href, 'http://10.0.0.4:8501/');
  assert.equal(loadConfig({ VMSS_MESH_SUBSCRIPTIONS: 's', CONSUL_HTTP_ADDR: 'https://consul.internal:8501' }).consul.url.protocol, 'https:');
});

test('config: every bad value is a ConfigError naming the setting', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /^VMSS_MESH_SUBSCRIPTIONS: at least one subscription ID is required$/],
    [{ VMSS_MESH_SUBSCRIPTIONS: 's', VMSS_MESH_TXN_BATCH_SIZE: '500' }, /^VMSS_MESH_TXN_BATCH_SIZE: invalid value "500"/],
    [{ VMSS_MESH_SUBSCRIPTIONS: 's', VMSS_MESH_MAX_REMOVAL_SHARE: '0' }, /^VMSS_MESH_MAX_REMOVAL_SHARE: invalid value "0"/],
    [{ VMSS_MESH_SUBSCRIPTIONS: 's', VMSS_MESH_ARM_ENDPOINT: 'http://plain' }, /^VMSS_MESH_ARM_ENDPOINT: invalid value "http:\/\/plain"/],
    [{ VMSS_MESH_SUBSCRIPTIONS: 's', VMSS_MESH_RECONCILE_SCHEDULE: '*/5 * * * *' }, /^VMSS_MESH_RECONCILE_SCHEDULE: .*6 fields/],
    [{ VMSS_MESH_SUBSCRIPTIONS: 's', VMSS_MESH_RELAY_ADDRESSES: 'relay-without-port' }, /^VMSS_MESH_RELAY_ADDRESSES: expected host:port, got "relay-without-port"$/],
    [{ VMSS_MESH_SUBSCRIPTIONS: 's', CONSUL_HTTP_ADDR: 'ftp://x' }, /^CONSUL_HTTP_ADDR: scheme must be http or https/],
    [{ VMSS_MESH_SUBSCRIPTIONS: 's', VMSS_MESH_LOG_LEVEL: 'loud' }, /^VMSS_MESH_LOG_LEVEL: invalid value "loud"/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && message.test(error.message), JSON.stringify(env));
  }
  assert.doesNotThrow(() => loadConfig({}, { requireScope: false }));
});

test('config: local.settings.sample.json and the README document exactly the settings the app reads', () => {
  const sample = JSON.parse(readFileSync(path.join(root, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
  const sampleKeys = Object.keys(sample.Values).filter((k) => !HOST_SETTINGS.includes(k)).sort();
  assert.deepEqual(sampleKeys, Object.keys(SETTINGS).sort());
  // The sample must itself be a valid configuration.
  assert.doesNotThrow(() => loadConfig(sample.Values));
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const settingsSection = readme.split(/^## Settings$/m)[1]?.split(/^## /m)[0] ?? '';
  const documented = [...settingsSection.matchAll(/^\| `([A-Za-z_]+)` \|/gm)].map((m) => m[1]!).filter((k) => !HOST_SETTINGS.includes(k)).sort();
  assert.deepEqual(documented, Object.keys(SETTINGS).sort());
});
