/**
 * What only the Consul double has (its inspection API, hooks and options) and the parts of its
 * Consul behaviour the contract tests cannot check against every real Consul (ACL rules, limits).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../../src/sandbox/consul-double';
import { consulHttp, startDouble } from '../helpers/consul-fixtures';

describe('Consul double', () => {
  test('a fresh double reports index 1, never 0', async (t) => {
    const consul = await startDouble(t);
    const res = await consulHttp(consul.url, 'GET', '/v1/catalog/nodes');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, []);
    assert.equal(res.index, 1);
    assert.equal(res.headers.get('x-consul-knownleader'), 'true');
    assert.equal(res.headers.get('x-consul-lastcontact'), '0');
  });

  test('snapshot shows the world; deregistering a node removes its services and checks', async (t) => {
    const consul = await startDouble(t);
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', {
      body: { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'web', Port: 80 }, Checks: [{ CheckID: 'c', Name: 'c', Status: 'passing' }] },
    });
    await consulHttp(consul.url, 'PUT', '/v1/kv/a/b', { raw: 'hello' });
    const before = consul.state.snapshot();
    assert.deepEqual(before.nodes.map((n) => n.node), ['n1']);
    assert.deepEqual(before.services.map((s) => [s.node, s.id, s.service, s.port]), [['n1', 'web', 'web', 80]]);
    assert.deepEqual(before.checks.map((c) => [c.node, c.checkId, c.status]), [['n1', 'c', 'passing']]);
    assert.deepEqual(before.kv.map((e) => [e.key, e.value]), [['a/b', 'hello']]);
    assert.equal(before.index, consul.state.index);

    await consulHttp(consul.url, 'PUT', '/v1/catalog/deregister', { body: { Node: 'n1' } });
    const after = consul.state.snapshot();
    assert.deepEqual([after.nodes.length, after.services.length, after.checks.length], [0, 0, 0]);
    assert.ok(after.index > before.index);
  });

  test('writing identical data keeps the ModifyIndex (as Consul does)', async (t) => {
    const consul = await startDouble(t);
    const body = { Node: 'n1', Address: '10.0.0.1', NodeMeta: { a: 'b' } };
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body });
    const first = consul.state.snapshot().nodes[0]?.modifyIndex;
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body });
    assert.equal(consul.state.snapshot().nodes[0]?.modifyIndex, first);
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { ...body, Address: '10.0.0.2' } });
    assert.ok((consul.state.snapshot().nodes[0]?.modifyIndex ?? 0) > (first ?? 0));
  });

  test('the request log and a hook that answers instead of the double (fault injection)', async (t) => {
    const consul = await startDouble(t);
    consul.state.setBeforeRequest((info) => (info.path === '/v1/kv/flaky' ? { status: 503, body: 'No cluster leader', headers: { 'Retry-After': '1' } } : undefined));
    const flaky = await consulHttp(consul.url, 'GET', '/v1/kv/flaky');
    assert.equal(flaky.status, 503);
    assert.equal(flaky.text, 'No cluster leader');
    assert.equal(flaky.headers.get('retry-after'), '1');
    await consulHttp(consul.url, 'GET', '/v1/kv/other?recurse');
    assert.deepEqual(
      consul.state.requests.map((r) => [r.method, r.path, r.query, r.status]),
      [
        ['GET', '/v1/kv/flaky', '', 503],
        ['GET', '/v1/kv/other', '?recurse', 404],
      ],
    );
    consul.state.clearRequests();
    assert.deepEqual(consul.state.requests, []);
  });

  test('a hook can hold a request to interleave clients deterministically', async (t) => {
    const consul = await startDouble(t);
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
    consul.state.setBeforeRequest(async (info) => {
      if (info.method === 'PUT' && info.path === '/v1/kv/slow') {
        arrived();
        await held;
      }
    });
    const slow = consulHttp(consul.url, 'PUT', '/v1/kv/slow?cas=0', { raw: 'first' });
    await slowArrived;
    const fast = await consulHttp(consul.url, 'PUT', '/v1/kv/fast', { raw: 'x' });
    assert.equal(fast.body, true);
    assert.equal(consul.state.snapshot().kv.some((e) => e.key === 'slow'), false, 'the held write has not happened yet');
    release();
    assert.equal((await slow).body, true);
    assert.deepEqual(consul.state.snapshot().kv.map((e) => e.key), ['fast', 'slow']);
  });

  test('waitForIndexAbove resolves on a write and times out without one', async (t) => {
    const consul = await startDouble(t);
    const index = consul.state.index;
    assert.equal(await consul.state.waitForIndexAbove(index, 20), false);
    const waiting = consul.state.waitForIndexAbove(index, 5_000);
    await consulHttp(consul.url, 'PUT', '/v1/kv/x', { raw: '1' });
    assert.equal(await waiting, true);
  });

  test('blocking waits are capped by maxWaitMs, and close() ends held queries', async (t) => {
    const consul = await startDouble(t, { maxWaitMs: 150 });
    await consulHttp(consul.url, 'PUT', '/v1/kv/k', { raw: 'v' });
    const first = await consulHttp(consul.url, 'GET', '/v1/kv/k');
    const started = Date.now();
    const capped = await consulHttp(consul.url, 'GET', `/v1/kv/k?index=${first.index}&wait=10m`);
    assert.equal(capped.index, first.index);
    assert.ok(Date.now() - started < 2_000);

    const other = await startDouble(t);
    await consulHttp(other.url, 'PUT', '/v1/kv/k', { raw: 'v' });
    let arrived: () => void = () => undefined;
    const queryArrived = new Promise<void>((resolve) => (arrived = resolve));
    other.state.setBeforeRequest((info) => {
      if (info.query.has('index')) arrived();
    });
    const held = consulHttp(other.url, 'GET', `/v1/kv/k?index=${first.index + 100}&wait=5m`);
    await queryArrived;
    const closing = Date.now();
    await other.close();
    const answer = await held;
    assert.equal(answer.status, 200, 'the held query is answered with what the double has');
    assert.ok(Date.now() - closing < 1_000);
  });

  test('maxTxnOps limits a transaction (413) and bad parameters are 400 with Consul wording', async (t) => {
    const consul = await startDouble(t, { maxTxnOps: 8 });
    const ops = Array.from({ length: 9 }, (_, i) => ({ KV: { Verb: 'set', Key: `k${i}`, Value: null } }));
    const tooMany = await consulHttp(consul.url, 'PUT', '/v1/txn', { body: ops });
    assert.equal(tooMany.status, 413);
    assert.equal(tooMany.text, 'Transaction contains too many operations (9 > 8)');
    const notArray = await consulHttp(consul.url, 'PUT', '/v1/txn', { body: { KV: {} } });
    assert.equal(notArray.status, 400);
    assert.match(notArray.text, /^Failed to parse body: /);
    assert.equal((await consulHttp(consul.url, 'GET', '/v1/kv/a?index=x')).text, 'Invalid index');
    assert.equal((await consulHttp(consul.url, 'PUT', '/v1/kv/')).text, 'Missing key name');
    const wrongMethod = await consulHttp(consul.url, 'POST', '/v1/catalog/register');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.text, 'method POST not allowed');
    assert.equal(wrongMethod.headers.get('allow'), 'OPTIONS,PUT');
    const otherDc = await consulHttp(consul.url, 'GET', '/v1/catalog/nodes?dc=mars');
    assert.deepEqual([otherDc.status, otherDc.text], [500, 'No path to datacenter']);
    const unknown = await consulHttp(consul.url, 'GET', '/v1/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.text, 'Invalid URL path: not a recognized HTTP API endpoint\n');
  });

  test('txn fields are matched case-insensitively, as Go decodes JSON', async (t) => {
    const consul = await startDouble(t);
    const res = await consulHttp(consul.url, 'PUT', '/v1/txn', { body: [{ kv: { verb: 'set', key: 'lower', value: Buffer.from('v').toString('base64') } }] });
    assert.equal(res.status, 200);
    assert.deepEqual(consul.state.snapshot().kv.map((e) => [e.key, e.value]), [['lower', 'v']]);
  });

  test('ACL: unknown token, permission denied, filtered lists; token by header, query or bearer', async (t) => {
    const consul = await startDouble(t, {
      acl: {
        tokens: [
          { secretId: 'admin', node: 'write', service: 'write', key: { '': 'write' } },
          { secretId: 'kv-reader', accessorId: 'acc-kv', key: { app: 'read', 'app/secret': 'deny' } },
        ],
      },
    });
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { token: 'admin', body: { Node: 'n1', Address: '10.0.0.1' } });
    await consulHttp(consul.url, 'PUT', '/v1/kv/app/config', { token: 'admin', raw: 'c' });
    await consulHttp(consul.url, 'PUT', '/v1/kv/app/secret', { token: 'admin', raw: 's' });

    const unknown = await consulHttp(consul.url, 'GET', '/v1/kv/app/config', { token: 'who' });
    assert.deepEqual([unknown.status, unknown.text], [403, 'ACL not found']);
    assert.equal(unknown.headers.get('x-consul-default-acl-policy'), 'deny');

    const write = await consulHttp(consul.url, 'PUT', '/v1/kv/app/config', { token: 'kv-reader', raw: 'x' });
    assert.deepEqual([write.status, write.text], [403, `Permission denied: token with AccessorID 'acc-kv' lacks permission 'key:write' on "app/config"`]);
    const secret = await consulHttp(consul.url, 'GET', '/v1/kv/app/secret', { token: 'kv-reader' });
    assert.equal(secret.status, 403);
    const tree = await consulHttp(consul.url, 'GET', '/v1/kv/app?recurse', { token: 'kv-reader' });
    assert.deepEqual((tree.body as Array<{ Key: string }>).map((e) => e.Key), ['app/config']);
    assert.equal(tree.headers.get('x-consul-results-filtered-by-acls'), 'true');
    const nodes = await consulHttp(consul.url, 'GET', '/v1/catalog/nodes', { token: 'kv-reader' });
    assert.deepEqual([nodes.status, nodes.body], [200, []]);
    assert.equal(nodes.headers.get('x-consul-results-filtered-by-acls'), 'true');

    const anonymous = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: 'n2', Address: '10.0.0.2' } });
    assert.equal(anonymous.status, 403);
    assert.match(anonymous.text, /^Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'node:write' on "n2"$/);
    const txn = await consulHttp(consul.url, 'PUT', '/v1/txn', { token: 'kv-reader', body: [{ KV: { Verb: 'set', Key: 'app/x', Value: null } }] });
    assert.equal(txn.status, 409, 'ACL denials inside a txn are op errors');
    assert.deepEqual((txn.body as { Errors: unknown }).Errors, [{ OpIndex: 0, What: `Permission denied: token with AccessorID 'acc-kv' lacks permission 'key:write' on "app/x"` }]);

    const byQuery = await consulHttp(consul.url, 'GET', '/v1/kv/app/config?token=admin');
    assert.equal(byQuery.status, 200);
    const byBearer = await fetch(`${consul.url}/v1/kv/app/config`, { headers: { Authorization: 'Bearer admin' } });
    assert.equal(byBearer.status, 200);
    await byBearer.text();
    const leader = await consulHttp(consul.url, 'GET', '/v1/status/leader', { token: 'who' });
    assert.deepEqual([leader.status, leader.body], [200, '127.0.0.1:8300']);
  });

  test('parseGoDuration follows time.ParseDuration', () => {
    assert.equal(parseGoDuration('5m'), 300_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('1.5s'), 1_500);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('10'), null, 'a unit is required');
    assert.equal(parseGoDuration('soon'), null);
    assert.equal(parseGoDuration(''), null);
  });

  test('options are validated', async () => {
    const { startConsulDouble } = await import('../../src/sandbox/consul-double');
    await assert.rejects(startConsulDouble({ maxTxnOps: 0 }), new TypeError('ConsulDoubleOptions.maxTxnOps must be a positive integer, got 0'));
  });
});
