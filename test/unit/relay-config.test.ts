import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadRelayConfig, parseListenAddress, RELAY_SETTINGS } from '../../src/relay/relay-config';
import { ConfigError } from '../../src/shared/errors';

const BASE = { VMSS_MESH_RELAY_TOKEN: 'secret' };

function configError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

describe('relay settings', () => {
  test('defaults: xDS + push on 0.0.0.0:18000, admin on 127.0.0.1:18001, 50 ms coalescing, gateway port 8080', () => {
    const config = loadRelayConfig(BASE);
    assert.deepEqual(config.listen, { host: '0.0.0.0', port: 18000 });
    assert.deepEqual(config.admin, { host: '127.0.0.1', port: 18001 });
    assert.deepEqual(config.push, { enabled: true, token: 'secret' });
    assert.equal(config.consul.url.href, 'http://127.0.0.1:8500/');
    assert.equal(config.coalesceMs, 50);
    assert.equal(config.minSendIntervalMs, 20);
    assert.deepEqual(config.gateway, { port: 8080, routes: [] });
    assert.equal(config.onlyPassing, false);
    assert.deepEqual(config.watch, { waitSeconds: 300, minIntervalMs: 200, maxBackoffMs: 30_000 });
    assert.equal(config.shutdownGraceMs, 5_000);
    assert.equal(config.logLevel, 'info');
  });

  test('every setting is read from the environment, and flags win over it', () => {
    const config = loadRelayConfig(
      {
        ...BASE,
        VMSS_MESH_RELAY_LISTEN: '[::1]:19000',
        VMSS_MESH_RELAY_ADMIN_LISTEN: 'localhost:19001',
        CONSUL_HTTP_ADDR: 'https://consul.internal:8501',
        CONSUL_HTTP_TOKEN: 'acl',
        CONSUL_DATACENTER: 'dc2',
        CONSUL_HTTP_SSL_VERIFY: 'false',
        VMSS_MESH_RELAY_COALESCE_MS: '10',
        VMSS_MESH_RELAY_MIN_SEND_INTERVAL_MS: '0',
        VMSS_MESH_GATEWAY_PORT: '9090',
        VMSS_MESH_GATEWAY_ROUTES: 'api.example.com/v1=api, /=web',
        VMSS_MESH_RELAY_ONLY_PASSING: 'true',
        VMSS_MESH_RELAY_WATCH_WAIT_SECONDS: '60',
        VMSS_MESH_RELAY_WATCH_MIN_INTERVAL_MS: '0',
        VMSS_MESH_RELAY_WATCH_MAX_BACKOFF_MS: '1000',
        VMSS_MESH_RELAY_SHUTDOWN_GRACE_MS: '0',
        VMSS_MESH_LOG_LEVEL: 'debug',
      },
      { VMSS_MESH_RELAY_COALESCE_MS: '25', VMSS_MESH_RELAY_TOKEN: 'from-flag' },
    );
    assert.deepEqual(config.listen, { host: '::1', port: 19000 });
    assert.deepEqual(config.admin, { host: 'localhost', port: 19001 });
    assert.deepEqual(config.push, { enabled: true, token: 'from-flag' });
    assert.equal(config.consul.url.href, 'https://consul.internal:8501/');
    assert.equal(config.consul.token, 'acl');
    assert.equal(config.consul.datacenter, 'dc2');
    assert.equal(config.consul.insecureSkipVerify, true);
    assert.equal(config.coalesceMs, 25);
    assert.equal(config.minSendIntervalMs, 0);
    assert.deepEqual(config.gateway, {
      port: 9090,
      routes: [
        { host: 'api.example.com', pathPrefix: '/v1', service: 'api' },
        { pathPrefix: '/', service: 'web' },
      ],
    });
    assert.equal(config.onlyPassing, true);
    assert.deepEqual(config.watch, { waitSeconds: 60, minIntervalMs: 0, maxBackoffMs: 1_000 });
    assert.equal(config.shutdownGraceMs, 0);
    assert.equal(config.logLevel, 'debug');
  });

  test('the push token is required unless push is disabled', () => {
    configError(() => loadRelayConfig({}), 'VMSS_MESH_RELAY_TOKEN: a push token is required (or disable the push API with VMSS_MESH_RELAY_PUSH_DISABLED=true / --push-disabled)');
    assert.deepEqual(loadRelayConfig({ VMSS_MESH_RELAY_PUSH_DISABLED: 'true' }).push, { enabled: false });
  });

  test('bad values are ConfigErrors naming the setting', () => {
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_LISTEN: '18000' }), 'VMSS_MESH_RELAY_LISTEN: expected host:port or [ipv6]:port with a port from 0 to 65535, got "18000"');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:70000' }), 'VMSS_MESH_RELAY_ADMIN_LISTEN: expected host:port or [ipv6]:port with a port from 0 to 65535, got "127.0.0.1:70000"');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_LISTEN: '[fe80::zz]:1' }), 'VMSS_MESH_RELAY_LISTEN: expected host:port or [ipv6]:port with a port from 0 to 65535, got "[fe80::zz]:1"');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_LISTEN: 'bad_host:1' }), 'VMSS_MESH_RELAY_LISTEN: "bad_host" is not an IP address or host name');
    configError(
      () => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_LISTEN: '0.0.0.0:18001' }),
      'VMSS_MESH_RELAY_ADMIN_LISTEN: the admin server cannot share port 18001 with the gRPC server',
    );
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_COALESCE_MS: '-1' }), 'VMSS_MESH_RELAY_COALESCE_MS: invalid value "-1": Too small: expected number to be >=0');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_GATEWAY_PORT: '0' }), 'VMSS_MESH_GATEWAY_PORT: invalid value "0": Too small: expected number to be >=1');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_ONLY_PASSING: 'maybe' }), 'VMSS_MESH_RELAY_ONLY_PASSING: invalid value "maybe": Invalid option: expected one of "0"|"1"|"true"|"false"|"yes"|"no"');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_RELAY_WATCH_WAIT_SECONDS: '601' }), 'VMSS_MESH_RELAY_WATCH_WAIT_SECONDS: invalid value "601": Too big: expected number to be <=600');
    configError(() => loadRelayConfig({ ...BASE, CONSUL_HTTP_ADDR: 'ftp://consul' }), 'CONSUL_HTTP_ADDR: scheme must be http or https, got ftp:');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_LOG_LEVEL: 'loud' }), 'VMSS_MESH_LOG_LEVEL: invalid value "loud": Invalid option: expected one of "trace"|"debug"|"info"|"warn"|"error"');
    configError(() => loadRelayConfig({ ...BASE, VMSS_MESH_GATEWAY_ROUTES: '/=Web' }), 'VMSS_MESH_GATEWAY_ROUTES: rule 1 ("/=Web"): "Web" is not a service name (1–63 lower-case letters, digits and "-", starting with a letter, not ending with "-")');
  });

  test("the app's other settings cannot fail the relay (only Consul's are shared)", () => {
    const config = loadRelayConfig({ ...BASE, VMSS_MESH_ARM_ENDPOINT: 'not a url', VMSS_MESH_TXN_BATCH_SIZE: 'many' });
    assert.equal(config.listen.port, 18000);
  });

  test('listen addresses: IPv4, IPv6 in brackets, host names, port 0', () => {
    assert.deepEqual(parseListenAddress('10.1.2.3:0', 'X'), { host: '10.1.2.3', port: 0 });
    assert.deepEqual(parseListenAddress('[::]:18000', 'X'), { host: '::', port: 18000 });
    assert.deepEqual(parseListenAddress('relay-1.internal:18000', 'X'), { host: 'relay-1.internal', port: 18000 });
  });

  test('every setting has a flag, a default and a doc; flags are unique', () => {
    const flags = Object.values(RELAY_SETTINGS).map((s) => s.flag);
    assert.equal(new Set(flags).size, flags.length);
    for (const [name, spec] of Object.entries(RELAY_SETTINGS)) {
      assert.match(spec.flag, /^[a-z][a-z0-9-]+$/, name);
      assert.ok(spec.doc.length > 10, name);
    }
  });

  test('docs/relay.md documents every setting with its flag and default', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'relay.md'), 'utf8');
    for (const [name, spec] of Object.entries(RELAY_SETTINGS)) {
      const fallback = spec.default === '' ? '(empty)' : `\`${spec.default}\``;
      assert.ok(doc.includes(`| \`${name}\` | \`--${spec.flag}\` | ${fallback} |`), `${name} is missing or differs in docs/relay.md`);
    }
  });
});
