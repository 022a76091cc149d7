/**
 * How the Consul registry turns Consul's failures into our error classes (retryable or not, and
 * which setting to fix), and how it trusts Consul over TLS.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki } from '../../src/sandbox/arm-emulator';
import { ConsulRegistry } from '../../src/shared/consul';
import { ConfigError, TransientError } from '../../src/shared/errors';
import { markerKey } from '../../src/shared/ownership';
import { registryFor, scaleSetId, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';

describe('ConsulRegistry error mapping', () => {
  test('5xx and 429 become retryable TransientError; Retry-After is kept', async (t) => {
    const consul = await startDouble(t);
    const registry = registryFor(t, consul.url);
    const ss = scaleSetId(`err-${uniqueSuffix()}`);
    consul.state.setBeforeRequest(() => ({ status: 500, body: 'rpc error: No cluster leader' }));
    await assert.rejects(registry.hasOwnedNodes(ss), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.dependency, 'consul');
      assert.equal(error.retryable, true);
      assert.equal(error.message, 'Consul GET /v1/catalog/nodes answered 500: rpc error: No cluster leader');
      return true;
    });
    consul.state.setBeforeRequest(() => ({ status: 429, body: 'rate limit exceeded', headers: { 'Retry-After': '2' } }));
    await assert.rejects(registry.hasOwnedNodes(ss), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.retryAfterMs, 2000);
      assert.equal(error.message, 'Consul GET /v1/catalog/nodes answered 429: rate limit exceeded');
      return true;
    });
  });

  test('an unreachable Consul is a TransientError', async (t) => {
    const consul = await startDouble(t);
    const url = consul.url;
    await consul.close();
    const registry = registryFor(t, url);
    await assert.rejects(registry.hasOwnedNodes(scaleSetId('x')), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.match(error.message, /^Consul GET \/v1\/catalog\/nodes failed: .*ECONNREFUSED/);
      return true;
    });
  });

  test('an unknown or underprivileged ACL token is a non-retryable ConfigError naming CONSUL_HTTP_TOKEN', async (t) => {
    const consul = await startDouble(t, {
      acl: { tokens: [{ secretId: 'reader', accessorId: 'acc-reader', node: 'read', service: 'read', key: { '': 'read' } }] },
    });
    const ss = scaleSetId(`acl-${uniqueSuffix()}`);
    const unknown = registryFor(t, consul.url, { token: 'nope' });
    await assert.rejects(
      unknown.hasOwnedNodes(ss),
      new ConfigError('Consul refused the ACL token for GET /v1/catalog/nodes (403 ACL not found): set a valid token with the needed rights', 'CONSUL_HTTP_TOKEN'),
    );
    const reader = registryFor(t, consul.url, { token: 'reader', kvPrefix: 'vmss-mesh' });
    await assert.rejects(reader.beginReconcile(ss, 1), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.retryable, false);
      assert.equal(error.setting, 'CONSUL_HTTP_TOKEN');
      assert.equal(
        error.message,
        `CONSUL_HTTP_TOKEN: Consul refused the ACL token inside a transaction: Permission denied: token with AccessorID 'acc-reader' lacks permission 'key:write' on "${markerKey('vmss-mesh', ss)}"`,
      );
      return true;
    });
  });
});

describe('ConsulRegistry over TLS', () => {
  test('trusts Consul through CONSUL_CACERT; an untrusted certificate or a wrong server name is a ConfigError', async (t) => {
    const pki = await createTestPki({ caName: 'consul test CA' });
    const consul = await startDouble(t, { tls: { certPem: pki.certPem, keyPem: pki.keyPem } });
    const dir = mkdtempSync(join(tmpdir(), 'consul-ca-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.caPem);
    const ss = scaleSetId(`tls-${uniqueSuffix()}`);
    const make = (extra: { caFile?: string; tlsServerName?: string; insecureSkipVerify?: boolean }) => {
      const registry = new ConsulRegistry({ consul: { url: new URL(consul.url), insecureSkipVerify: false, ...extra }, kvPrefix: 'vmss-mesh', txnBatchSize: 64, tombstoneTtlMs: 1 });
      t.after(() => registry.close());
      return registry;
    };

    assert.equal(await make({ caFile }).hasOwnedNodes(ss), false);
    assert.equal(await make({ caFile, tlsServerName: 'localhost' }).hasOwnedNodes(ss), false);
    assert.equal(await make({ insecureSkipVerify: true }).hasOwnedNodes(ss), false);
    await assert.rejects(make({}).hasOwnedNodes(ss), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.setting, 'CONSUL_CACERT');
      assert.match(error.message, /^CONSUL_CACERT: Consul GET \/v1\/catalog\/nodes failed: Consul's TLS certificate was not accepted: /);
      return true;
    });
    await assert.rejects(make({ caFile, tlsServerName: 'consul.example' }).hasOwnedNodes(ss), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.setting, 'CONSUL_TLS_SERVER_NAME');
      return true;
    });
    assert.throws(() => make({ caFile: join(dir, 'missing.pem') }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.setting, 'CONSUL_CACERT');
      assert.match(error.message, /^CONSUL_CACERT: cannot read .*missing\.pem: ENOENT/);
      return true;
    });
  });
});
