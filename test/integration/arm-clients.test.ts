/**
 * createArmClients: trusting the emulator's CA from a file, per-scope call counting that keeps
 * concurrent reconciles apart, and clients per subscription sharing one meter.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/shared/errors';
import { StaticTokenCredential, createArmClients, getScaleSet, listInstances } from '../../src/shared/azure';
import { scaleSetRef } from '../../src/shared/resource-id';
import { OTHER_SUBSCRIPTION, SUBSCRIPTION, TOKEN, meshScaleSetOf, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

describe('createArmClients', () => {
  test('trusts the CA named by caFile (VMSS_MESH_ARM_CA_FILE); a missing file is a ConfigError', async (t) => {
    const { arm } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
    const dir = mkdtempSync(join(tmpdir(), 'arm-ca-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, arm.caPem);

    const clients = createArmClients({ endpoint: arm.url, staticToken: TOKEN, caFile, subscriptionId: SUBSCRIPTION });
    assert.equal((await getScaleSet(clients, scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'web'))).state, 'in-mesh');

    const missing = join(dir, 'nope.pem');
    assert.throws(() => createArmClients({ endpoint: arm.url, staticToken: TOKEN, caFile: missing, subscriptionId: SUBSCRIPTION }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, `VMSS_MESH_ARM_CA_FILE: cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'`);
      return true;
    });
  });

  test('the extra CA is parsed once for the clients, never per request or per connection, and never named in a pool key', async (t) => {
    const { arm } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
    // Counts the secure contexts made with a CA (one per client set is the goal; the SDK's
    // tlsOptions.ca made one per new connection) and the pool names https.Agent computes.
    const made: unknown[] = [];
    const names: string[] = [];
    const original = tls.createSecureContext;
    const originalGetName = Agent.prototype.getName;
    tls.createSecureContext = (options) => {
      if (options?.ca !== undefined) made.push(options.ca);
      return original(options);
    };
    Agent.prototype.getName = function (this: Agent, options) {
      const name = originalGetName.call(this, options);
      names.push(name);
      return name;
    };
    t.after(() => {
      tls.createSecureContext = original;
      Agent.prototype.getName = originalGetName;
    });

    const clients = createArmClients({ endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION }, { caPem: arm.caPem });
    const ref = scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'web');
    // Concurrent requests open several connections; then more over the kept-alive ones.
    for (let round = 0; round < 3; round += 1) {
      const answers = await Promise.all(Array.from({ length: 8 }, () => getScaleSet(clients, ref)));
      assert.deepEqual(new Set(answers.map((a) => a.state)), new Set(['in-mesh']));
    }
    assert.equal(arm.requests.count({ route: 'vmss.get' }), 24);
    assert.equal(made.length, 1, 'one secure context with the CA, made when the clients were');
    assert.ok(names.length >= 24, `every request asks the agent for its pool (${names.length})`);
    const caBody = arm.caPem.split('\n')[1] ?? '';
    assert.ok(caBody.length > 20);
    assert.deepEqual(names.filter((n) => n.includes(caBody)), [], 'no pool name carries the CA text');
    assert.ok(Math.max(...names.map((n) => n.length)) < 200, `pool names stay short (longest ${Math.max(...names.map((n) => n.length))})`);
  });

  test('an empty static token is a ConfigError', () => {
    assert.throws(() => new StaticTokenCredential(' '), { name: 'ConfigError', message: 'VMSS_MESH_ARM_TOKEN: the static ARM token is empty' });
  });

  test('measureCalls counts only the requests of its own work, even when reconciles run concurrently', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const small = meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name: 'small', capacity: 1 })));
    const big = meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name: 'big', capacity: 6 })));

    const [a, b] = await Promise.all([clients.measureCalls(() => listInstances(clients, small)), clients.measureCalls(() => listInstances(clients, big))]);

    assert.equal(a.calls, 2); // one page of VMs, one of NICs
    assert.equal(b.calls, 6); // three pages each
    assert.equal(arm.requests.entries.length, 8);
    assert.deepEqual(clients.meter.totals, { requests: 8, throttled: 0, failed: 0 });
  });

  test('measure scopes nest: the outer one also counts the inner work', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const web = meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 })));
    const outer = await clients.measureCalls(async () => {
      await getScaleSet(clients, web.ref);
      const inner = await clients.measureCalls(() => listInstances(clients, web));
      return inner.calls;
    });
    assert.deepEqual([outer.result, outer.calls], [2, 3]);
  });

  test('clients of another subscription are cached and share the meter', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'far', subscriptionId: OTHER_SUBSCRIPTION }));
    const other = clients.forSubscription(OTHER_SUBSCRIPTION.toUpperCase());
    assert.equal(other, clients.forSubscription(OTHER_SUBSCRIPTION));
    assert.equal(other.subscriptionId, OTHER_SUBSCRIPTION);
    const { calls } = await clients.measureCalls(() => getScaleSet(other, scaleSetRef(OTHER_SUBSCRIPTION, 'rg-mesh', 'far')));
    assert.equal(calls, 1);
    assert.equal(other.meter, clients.meter);
    assert.match(arm.requests.entries[0]?.path ?? '', new RegExp(`^/subscriptions/${OTHER_SUBSCRIPTION}/`));
  });

  test('failed and throttled attempts are counted too', async (t) => {
    const { arm, clients } = await startArmFixture(t, { retry: { maxRetries: 1 } });
    const web = meshScaleSetOf(arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 })));
    const { stats } = await clients.measureCalls(async () => {
      arm.faults.throttle(1, { route: 'vmss.get', retryAfterSeconds: 0 });
      await getScaleSet(clients, web.ref); // 429, then 200
      arm.faults.fail(2, { route: 'vmss.get', status: 500 });
      await assert.rejects(getScaleSet(clients, web.ref), { name: 'TransientError' }); // 500, retried, 500
    });
    assert.deepEqual(stats, { requests: 4, throttled: 1, failed: 2 });
  });
});
