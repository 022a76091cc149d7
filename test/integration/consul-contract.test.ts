/**
 * Contract tests of the Consul HTTP API as vmss-mesh uses it. By default they run against the
 * Consul double; with CONSUL_HTTP_ADDR set (and CONSUL_HTTP_TOKEN when ACLs are on) the very same
 * tests run against a real Consul, which is how the double is kept honest:
 *
 *   CONSUL_HTTP_ADDR=http://127.0.0.1:8500 npm run test:consul-contract
 *
 * Every test uses its own random names and removes what it wrote, so a shared Consul is fine.
 */
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseConsulAddress } from '../../src/shared/config';
import type { ConsulDouble } from '../../src/sandbox/consul-double';
import { ConsulRegistry } from '../../src/shared/consul';
import { consulConfigFor, consulHttp, desiredNode, localPlan, scaleSetId, startDouble, uniqueSuffix } from '../helpers/consul-fixtures';

const REAL_ADDR = process.env.CONSUL_HTTP_ADDR;
const REAL_TOKEN = process.env.CONSUL_HTTP_TOKEN || undefined;

interface Target {
  readonly url: string;
  readonly token?: string;
  /** Set when running against the double (its state is then observable). */
  readonly double?: ConsulDouble;
  http(method: string, path: string, options?: { body?: unknown; raw?: string; token?: string }): ReturnType<typeof consulHttp>;
  /** Deregisters the node when the test ends. */
  ownsNode(node: string): void;
  /** Deletes the KV prefix when the test ends. */
  ownsPrefix(prefix: string): void;
}

async function target(t: TestContext): Promise<Target> {
  const double = REAL_ADDR ? undefined : await startDouble(t);
  const url = REAL_ADDR ? parseConsulAddress(REAL_ADDR).origin : (double as ConsulDouble).url;
  const token = REAL_ADDR ? REAL_TOKEN : undefined;
  const http: Target['http'] = (method, path, options = {}) => consulHttp(url, method, path, { token, ...options });
  return {
    url,
    token,
    double,
    http,
    // A double lives for one test only; a shared real Consul is cleaned up after each test.
    ownsNode: (node) => {
      if (!double) t.after(async () => void (await http('PUT', '/v1/catalog/deregister', { body: { Node: node } })));
    },
    ownsPrefix: (prefix) => {
      if (!double) t.after(async () => void (await http('DELETE', `/v1/kv/${prefix}?recurse`)));
    },
  };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe(`Consul HTTP API contract (${REAL_ADDR ? `real Consul at ${REAL_ADDR}` : 'Consul double'})`, () => {
  test('catalog register, node-meta filters, deregister service, deregister node with its services and checks', async (t) => {
    const c = await target(t);
    const id = uniqueSuffix();
    const node = `contract-node-${id}`;
    const service = `contract-svc-${id}`;
    c.ownsNode(node);
    const reg = await c.http('PUT', '/v1/catalog/register', {
      body: {
        Node: node,
        Address: '10.20.30.40',
        NodeMeta: { 'contract-run': id, 'external-node': 'true' },
        Service: { ID: `${service}-1`, Service: service, Port: 8080, Tags: ['a', 'b'], Meta: { m: '1' } },
        Checks: [
          { CheckID: 'node-check', Name: 'node check', Status: 'passing' },
          { CheckID: 'svc-check', Name: 'service check', Status: 'warning', ServiceID: `${service}-1` },
        ],
      },
    });
    assert.equal(reg.status, 200);
    assert.equal(reg.body, true);

    const byMeta = await c.http('GET', `/v1/catalog/nodes?node-meta=contract-run:${id}&node-meta=external-node:true`);
    assert.equal(byMeta.status, 200);
    assert.ok(byMeta.index >= 1, 'X-Consul-Index is present and never 0');
    assert.deepEqual(
      (byMeta.body as Array<{ Node: string; Address: string; Meta: Record<string, string> }>).map((n) => [n.Node, n.Address, n.Meta['contract-run']]),
      [[node, '10.20.30.40', id]],
    );
    const noMatch = await c.http('GET', `/v1/catalog/nodes?node-meta=contract-run:${id}&node-meta=external-node:false`);
    assert.deepEqual(noMatch.body, []);

    const svc = await c.http('GET', `/v1/catalog/service/${service}`);
    const [entry] = svc.body as Array<Record<string, unknown>>;
    assert.equal(entry?.Node, node);
    assert.equal(entry?.ServiceID, `${service}-1`);
    assert.equal(entry?.ServicePort, 8080);
    assert.deepEqual(entry?.ServiceTags, ['a', 'b']);
    assert.deepEqual(entry?.ServiceMeta, { m: '1' });
    assert.equal(typeof entry?.ModifyIndex, 'number');

    const tagged = await c.http('GET', `/v1/health/service/${service}?tag=a&node-meta=contract-run:${id}`);
    const [health] = tagged.body as Array<{ Node: { Node: string }; Service: { ID: string }; Checks: Array<{ CheckID: string; Status: string }> }>;
    assert.equal(health?.Node.Node, node);
    assert.deepEqual(health?.Checks.map((ch) => [ch.CheckID, ch.Status]).sort(), [
      ['node-check', 'passing'],
      ['svc-check', 'warning'],
    ]);
    const passingOnly = await c.http('GET', `/v1/health/service/${service}?passing`);
    assert.deepEqual(passingOnly.body, [], '?passing drops an instance with a warning check');
    const otherTag = await c.http('GET', `/v1/health/service/${service}?tag=zzz`);
    assert.deepEqual(otherTag.body, []);
    const state = await c.http('GET', `/v1/health/state/warning?node-meta=contract-run:${id}`);
    assert.deepEqual((state.body as Array<{ CheckID: string }>).map((ch) => ch.CheckID), ['svc-check']);
    const svcChecks = await c.http('GET', `/v1/health/checks/${service}`);
    assert.deepEqual((svcChecks.body as Array<{ CheckID: string }>).map((ch) => ch.CheckID), ['svc-check']);

    const dereg = await c.http('PUT', '/v1/catalog/deregister', { body: { Node: node, ServiceID: `${service}-1` } });
    assert.equal(dereg.status, 200);
    const afterService = await c.http('GET', `/v1/catalog/node/${node}`);
    assert.equal(Object.keys((afterService.body as { Services: Record<string, unknown> | null }).Services ?? {}).length, 0);
    const checksLeft = await c.http('GET', `/v1/health/node/${node}`);
    assert.deepEqual((checksLeft.body as Array<{ CheckID: string }>).map((ch) => ch.CheckID), ['node-check'], "the service's check went with it");

    await c.http('PUT', '/v1/catalog/register', { body: { Node: node, Address: '10.20.30.40', Service: { Service: service, Port: 1 } } });
    await c.http('PUT', '/v1/catalog/deregister', { body: { Node: node } });
    const gone = await c.http('GET', `/v1/catalog/node/${node}`);
    assert.equal(gone.status, 200);
    assert.equal(gone.body, null);
    assert.deepEqual((await c.http('GET', `/v1/health/node/${node}`)).body, []);
    assert.deepEqual((await c.http('GET', `/v1/catalog/service/${service}`)).body, []);
  });

  test('catalog errors: missing address is refused, unknown state is a 400', async (t) => {
    const c = await target(t);
    const node = `contract-bad-${uniqueSuffix()}`;
    c.ownsNode(node);
    const noAddress = await c.http('PUT', '/v1/catalog/register', { body: { Node: node } });
    assert.equal(noAddress.status, 500);
    assert.match(noAddress.text, /Must provide address if SkipNodeUpdate is not set/);
    const badState = await c.http('GET', '/v1/health/state/sleepy');
    assert.equal(badState.status, 400);
    assert.match(badState.text, /Bad check state/);
  });

  test('KV: create-only CAS, CAS on ModifyIndex, delete with CAS, 404 for a missing key, recurse and keys', async (t) => {
    const c = await target(t);
    const prefix = `contract/${uniqueSuffix()}`;
    c.ownsPrefix(prefix);
    const key = `${prefix}/a`;
    assert.equal((await c.http('PUT', `/v1/kv/${key}?cas=0`, { raw: 'one' })).body, true);
    assert.equal((await c.http('PUT', `/v1/kv/${key}?cas=0`, { raw: 'two' })).body, false, 'cas=0 only creates');
    const read = await c.http('GET', `/v1/kv/${key}`);
    const [entry] = read.body as Array<{ Key: string; Value: string; ModifyIndex: number; CreateIndex: number; Flags: number; LockIndex: number }>;
    assert.ok(entry);
    assert.equal(entry.Key, key);
    assert.equal(entry.Value, b64('one'));
    assert.equal(entry.Flags, 0);
    assert.equal(entry.LockIndex, 0);
    assert.equal(read.index, entry.ModifyIndex);
    assert.equal((await c.http('PUT', `/v1/kv/${key}?cas=${entry.ModifyIndex + 1000}`, { raw: 'three' })).body, false);
    assert.equal((await c.http('PUT', `/v1/kv/${key}?cas=${entry.ModifyIndex}`, { raw: 'three' })).body, true);
    const raw = await c.http('GET', `/v1/kv/${key}?raw`);
    assert.equal(raw.text, 'three');
    assert.equal((await c.http('DELETE', `/v1/kv/${key}?cas=${entry.ModifyIndex}`)).body, false, 'stale delete-cas');
    await c.http('PUT', `/v1/kv/${prefix}/b/c`, { raw: 'x' });
    const keys = await c.http('GET', `/v1/kv/${prefix}/?keys&separator=/`);
    assert.deepEqual(keys.body, [`${prefix}/a`, `${prefix}/b/`]);
    const tree = await c.http('GET', `/v1/kv/${prefix}/?recurse`);
    assert.deepEqual((tree.body as Array<{ Key: string }>).map((e) => e.Key), [`${prefix}/a`, `${prefix}/b/c`]);
    const current = (await c.http('GET', `/v1/kv/${key}`)).body as Array<{ ModifyIndex: number }>;
    assert.equal((await c.http('DELETE', `/v1/kv/${key}?cas=${current[0]?.ModifyIndex}`)).body, true);
    const missing = await c.http('GET', `/v1/kv/${key}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '');
    assert.ok(missing.index >= 1);
  });

  test('txn: success results share one index; failures roll back everything and name each failed op', async (t) => {
    const c = await target(t);
    const id = uniqueSuffix();
    const prefix = `contract/${id}`;
    const node = `contract-txn-${id}`;
    c.ownsPrefix(prefix);
    c.ownsNode(node);

    const ok = await c.http('PUT', '/v1/txn', {
      body: [
        { Node: { Verb: 'set', Node: { Node: node, Address: '10.0.0.1', Meta: { run: id } } } },
        { Service: { Verb: 'set', Node: node, Service: { ID: 'web-1', Service: `web-${id}`, Port: 80 } } },
        { Check: { Verb: 'set', Check: { Node: node, CheckID: 'c1', Name: 'c1', Status: 'passing' } } },
        { KV: { Verb: 'set', Key: `${prefix}/k`, Value: b64('v') } },
      ],
    });
    assert.equal(ok.status, 200);
    const results = (ok.body as { Results: Array<Record<string, { ModifyIndex: number }>>; Errors: unknown }).Results;
    assert.equal((ok.body as { Errors: unknown }).Errors, null);
    assert.equal(results.length, 4);
    const indexes = new Set(results.map((r) => Object.values(r)[0]?.ModifyIndex));
    assert.equal(indexes.size, 1, 'one transaction, one Raft index');
    const nodeIndex = results[0]?.Node?.ModifyIndex as number;
    const kvIndex = results[3]?.KV?.ModifyIndex as number;

    const failed = await c.http('PUT', '/v1/txn', {
      body: [
        { KV: { Verb: 'set', Key: `${prefix}/written-then-rolled-back`, Value: b64('x') } },
        { KV: { Verb: 'check-index', Key: `${prefix}/k`, Index: kvIndex + 1000 } },
        { KV: { Verb: 'check-not-exists', Key: `${prefix}/k` } },
        { KV: { Verb: 'cas', Key: `${prefix}/k`, Value: b64('y'), Index: kvIndex + 1000 } },
        { Node: { Verb: 'cas', Node: { Node: node, Address: '10.0.0.2', ModifyIndex: 0 } } },
        { Node: { Verb: 'delete-cas', Node: { Node: node, ModifyIndex: nodeIndex + 1000 } } },
        { Service: { Verb: 'delete', Node: node, Service: { ID: 'web-1' } } },
      ],
    });
    assert.equal(failed.status, 409);
    const errors = (failed.body as { Errors: Array<{ OpIndex: number; What: string }> }).Errors;
    assert.deepEqual(errors, [
      { OpIndex: 1, What: `failed index check for key "${prefix}/k", current modify index ${kvIndex} != ${kvIndex + 1000}` },
      { OpIndex: 2, What: `key "${prefix}/k" exists` },
      { OpIndex: 3, What: `failed to set key "${prefix}/k", index is stale` },
      { OpIndex: 4, What: `failed to set node "${node}", index is stale` },
      { OpIndex: 5, What: `failed to delete node "${node}", index is stale` },
    ]);
    assert.equal((await c.http('GET', `/v1/kv/${prefix}/written-then-rolled-back`)).status, 404, 'nothing of a failed txn is applied');
    assert.equal(((await c.http('GET', `/v1/catalog/node/${node}`)).body as { Node: { Address: string } }).Node.Address, '10.0.0.1');
    assert.equal(((await c.http('GET', `/v1/catalog/service/web-${id}`)).body as unknown[]).length, 1, 'the service delete was rolled back');

    const missingNode = await c.http('PUT', '/v1/txn', {
      body: [{ Service: { Verb: 'set', Node: `${node}-absent`, Service: { ID: 'x', Service: 'x', Port: 1 } } }],
    });
    assert.equal(missingNode.status, 409);
    assert.deepEqual((missingNode.body as { Errors: unknown }).Errors, [{ OpIndex: 0, What: 'Missing node registration' }]);
  });

  test('txn: Node cas at the read index plus Service and Check deletes removes only those entries; missing ones are no error', async (t) => {
    const c = await target(t);
    const id = uniqueSuffix();
    const node = `contract-release-${id}`;
    c.ownsNode(node);
    const reg = await c.http('PUT', '/v1/txn', {
      body: [
        { Node: { Verb: 'set', Node: { Node: node, Address: '10.0.0.1', Meta: { ours: 'yes', theirs: 'kept' } } } },
        { Service: { Verb: 'set', Node: node, Service: { ID: 'mine', Service: `mine-${id}`, Port: 80 } } },
        { Service: { Verb: 'set', Node: node, Service: { ID: 'other', Service: `other-${id}`, Port: 81 } } },
        { Check: { Verb: 'set', Check: { Node: node, CheckID: 'mine-check', Name: 'mine', Status: 'passing' } } },
        { Check: { Verb: 'set', Check: { Node: node, CheckID: 'other-check', Name: 'other', Status: 'passing', ServiceID: 'other' } } },
      ],
    });
    assert.equal(reg.status, 200);
    const nodeIndex = (reg.body as { Results: Array<{ Node?: { ModifyIndex: number } }> }).Results[0]?.Node?.ModifyIndex as number;

    const release = await c.http('PUT', '/v1/txn', {
      body: [
        { Node: { Verb: 'cas', Node: { Node: node, Address: '10.0.0.1', Meta: { theirs: 'kept' }, ModifyIndex: nodeIndex } } },
        { Service: { Verb: 'delete', Node: node, Service: { ID: 'mine' } } },
        { Check: { Verb: 'delete', Check: { Node: node, CheckID: 'mine-check' } } },
        { Check: { Verb: 'delete', Check: { Node: node, CheckID: 'never-registered' } } },
      ],
    });
    assert.equal(release.status, 200, JSON.stringify(release.body));
    const held = (await c.http('GET', `/v1/catalog/node/${node}`)).body as { Node: { Meta: Record<string, string> }; Services: Record<string, unknown> };
    assert.deepEqual(held.Node.Meta, { theirs: 'kept' });
    assert.deepEqual(Object.keys(held.Services), ['other']);
    const checks = (await c.http('GET', `/v1/health/node/${node}`)).body as Array<{ CheckID: string }>;
    assert.deepEqual(checks.map((ch) => ch.CheckID), ['other-check']);

    // The same guard fails once the node changed since it was read, and nothing of the txn applies.
    const stale = await c.http('PUT', '/v1/txn', {
      body: [
        { Node: { Verb: 'cas', Node: { Node: node, Address: '10.0.0.1', Meta: {}, ModifyIndex: nodeIndex } } },
        { Service: { Verb: 'delete', Node: node, Service: { ID: 'other' } } },
      ],
    });
    assert.equal(stale.status, 409);
    assert.deepEqual((stale.body as { Errors: unknown }).Errors, [{ OpIndex: 0, What: `failed to set node "${node}", index is stale` }]);
    assert.deepEqual(Object.keys(((await c.http('GET', `/v1/catalog/node/${node}`)).body as { Services: Record<string, unknown> }).Services), ['other']);
  });

  test('txn: more operations than the limit is refused as a whole', async (t) => {
    const c = await target(t);
    const prefix = `contract/${uniqueSuffix()}`;
    c.ownsPrefix(prefix);
    // 129 exceeds both limits Consul has had (64, later 128).
    const ops = Array.from({ length: 129 }, (_, i) => ({ KV: { Verb: 'set', Key: `${prefix}/${i}`, Value: b64('v') } }));
    const res = await c.http('PUT', '/v1/txn', { body: ops });
    assert.equal(res.status, 413);
    assert.match(res.text, /^Transaction contains too many operations \(129 > (64|128)\)$/);
    assert.equal((await c.http('GET', `/v1/kv/${prefix}/0`)).status, 404);
  });

  test('blocking query: returns soon after a change with a higher X-Consul-Index', async (t) => {
    const c = await target(t);
    const prefix = `contract/${uniqueSuffix()}`;
    c.ownsPrefix(prefix);
    const key = `${prefix}/watched`;
    await c.http('PUT', `/v1/kv/${key}`, { raw: 'v1' });
    const first = await c.http('GET', `/v1/kv/${key}`);
    let arrived: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (arrived = resolve));
    if (c.double) {
      // With the double we can make sure the query is held before the write happens.
      c.double.state.setBeforeRequest((info) => {
        if (info.method === 'GET' && info.query.has('index')) arrived();
      });
    } else {
      arrived();
    }
    const started = Date.now();
    const watch = c.http('GET', `/v1/kv/${key}?index=${first.index}&wait=10s`);
    await blocked;
    await c.http('PUT', `/v1/kv/${key}`, { raw: 'v2' });
    const woke = await watch;
    assert.equal(woke.status, 200);
    assert.ok(woke.index > first.index, `index moved from ${first.index} to ${woke.index}`);
    assert.equal((woke.body as Array<{ Value: string }>)[0]?.Value, b64('v2'));
    assert.ok(Date.now() - started < 5_000, 'returned well before the 10 s wait');
  });

  test('blocking query on a service wakes on a health change of its node', async (t) => {
    const c = await target(t);
    const id = uniqueSuffix();
    const node = `contract-watch-${id}`;
    const service = `watch-${id}`;
    c.ownsNode(node);
    const register = (status: string) =>
      c.http('PUT', '/v1/catalog/register', {
        body: { Node: node, Address: '10.0.0.9', Service: { Service: service, Port: 1 }, Check: { CheckID: 'n', Name: 'n', Status: status } },
      });
    await register('passing');
    const first = await c.http('GET', `/v1/health/service/${service}`);
    const watch = c.http('GET', `/v1/health/service/${service}?index=${first.index}&wait=10s`);
    await register('critical');
    const woke = await watch;
    assert.ok(woke.index > first.index);
    assert.equal((woke.body as Array<{ Checks: Array<{ Status: string }> }>)[0]?.Checks[0]?.Status, 'critical');
  });

  test('blocking query: times out after `wait` with the same index when nothing changes', async (t) => {
    const c = await target(t);
    const prefix = `contract/${uniqueSuffix()}`;
    c.ownsPrefix(prefix);
    await c.http('PUT', `/v1/kv/${prefix}/still`, { raw: 'v' });
    const first = await c.http('GET', `/v1/kv/${prefix}/still`);
    const started = Date.now();
    const res = await c.http('GET', `/v1/kv/${prefix}/still?index=${first.index}&wait=400ms`);
    const elapsed = Date.now() - started;
    assert.equal(res.status, 200);
    assert.equal(res.index, first.index);
    // Consul adds up to wait/16 of jitter; never returns early.
    assert.ok(elapsed >= 380 && elapsed < 3_000, `waited ${elapsed} ms`);
    const bad = await c.http('GET', `/v1/kv/${prefix}/still?index=${first.index}&wait=soon`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Invalid wait time/);
  });

  test('ACL: an unknown token is refused with 403 "ACL not found"', { skip: REAL_ADDR && !REAL_TOKEN ? 'the real Consul has no ACL token configured (set CONSUL_HTTP_TOKEN)' : false }, async (t) => {
    const c = REAL_ADDR
      ? await target(t)
      : await (async () => {
          const double = await startDouble(t, { acl: { tokens: [{ secretId: 'writer', node: 'write', service: 'write', key: { '': 'write' } }] } });
          return { url: double.url, token: 'writer', http: (m: string, p: string, o: { body?: unknown; raw?: string; token?: string } = {}) => consulHttp(double.url, m, p, { token: 'writer', ...o }) };
        })();
    const bogus = '00000000-0000-4000-8000-00000000dead';
    const denied = await c.http('GET', '/v1/catalog/nodes', { token: bogus });
    assert.equal(denied.status, 403);
    assert.equal(denied.text.trim(), 'ACL not found');
    const viaQuery = await consulHttp(c.url, 'GET', `/v1/kv/anything?token=${bogus}`);
    assert.equal(viaQuery.status, 403);
    const allowed = await c.http('GET', '/v1/catalog/nodes');
    assert.equal(allowed.status, 200);
  });

  test('the registry never reads, modifies or removes entries without our marks', async (t) => {
    const c = await target(t);
    const id = uniqueSuffix();
    const ss = scaleSetId(`contract-${id}`);
    const prefix = `vmss-mesh-contract-${id}`;
    c.ownsPrefix(prefix);
    const registry = new ConsulRegistry({ consul: consulConfigFor(c.url, c.token), kvPrefix: prefix, txnBatchSize: 16, tombstoneTtlMs: 60_000 });
    t.after(() => registry.close());
    const service = `mesh-${id}`;
    const vms = [0, 1, 2].map((i) => desiredNode(ss, { name: `vm_${i}`, ip: `10.7.0.${i + 4}`, services: [{ name: service, port: 8080 }] }));
    for (const vm of vms) c.ownsNode(vm.node);
    // A hand-registered node holding vm_1's name, and an agent-registered instance of our service.
    const handNode = vms[1]!.node;
    const agentNode = `agent-${id}`;
    c.ownsNode(agentNode);
    await c.http('PUT', '/v1/catalog/register', { body: { Node: handNode, Address: '192.168.0.1', NodeMeta: { owner: 'ops' } } });
    await c.http('PUT', '/v1/catalog/register', {
      body: { Node: agentNode, Address: '192.168.0.2', Service: { ID: 'agent-svc', Service: service, Port: 9999 }, Check: { CheckID: 'serfHealth', Name: 'Serf', Status: 'passing' } },
    });
    const foreignView = async () => ({
      hand: (await c.http('GET', `/v1/catalog/node/${handNode}`)).body,
      agent: (await c.http('GET', `/v1/catalog/node/${agentNode}`)).body,
      agentChecks: (await c.http('GET', `/v1/health/node/${agentNode}`)).body,
    });
    const before = await foreignView();

    const s1 = await registry.beginReconcile(ss, 1_000);
    assert.deepEqual(s1.actual, [], 'nothing unmarked is read');
    const r1 = await s1.apply(localPlan(ss, vms, s1));
    assert.equal(r1.counts.registered, 2);
    assert.deepEqual(r1.skipped.map((s) => [s.node, s.reason.split(':')[0]]), [[handNode, 'name-taken']]);
    assert.deepEqual(await foreignView(), before);

    const s2 = await registry.beginReconcile(ss, 2_000);
    const moved = vms.map((vm) => ({ ...vm, address: vm.address.replace('10.7.', '10.8.'), azureCheck: { status: 'critical' as const, output: 'stopped' } }));
    const r2 = await s2.apply(localPlan(ss, moved, s2));
    assert.equal(r2.counts.updated, 2);
    assert.deepEqual(await foreignView(), before);
    const endpoints = await registry.serviceEndpoints([service]);
    assert.deepEqual(endpoints[0]?.endpoints.map((e) => e.address).sort(), ['10.8.0.4', '10.8.0.6'], 'only our instances are published');

    const s3 = await registry.beginReconcile(ss, 3_000);
    const r3 = await s3.apply(localPlan(ss, [], s3));
    assert.equal(r3.counts.deregistered, 2);
    assert.deepEqual(await foreignView(), before);
    assert.equal(await registry.hasOwnedNodes(ss), false);
  });

  test('the registry leaves services and checks added by hand to its node, with the node, when the instance goes', async (t) => {
    const c = await target(t);
    const id = uniqueSuffix();
    const ss = scaleSetId(`contract-shared-${id}`);
    const prefix = `vmss-mesh-contract-${id}`;
    c.ownsPrefix(prefix);
    const registry = new ConsulRegistry({ consul: consulConfigFor(c.url, c.token), kvPrefix: prefix, txnBatchSize: 16, tombstoneTtlMs: 0 });
    t.after(() => registry.close());
    const service = `mesh-${id}`;
    const vm = desiredNode(ss, { name: 'vm_0', ip: '10.9.0.4', services: [{ name: service, port: 8080 }] });
    c.ownsNode(vm.node);
    const s1 = await registry.beginReconcile(ss, 1_000);
    assert.equal((await s1.apply(localPlan(ss, [vm], s1))).counts.registered, 1);
    await c.http('PUT', '/v1/catalog/register', {
      body: { Node: vm.node, SkipNodeUpdate: true, Service: { ID: `legacy-${id}`, Service: `legacy-${id}`, Port: 9000 }, Check: { CheckID: 'legacy-check', Name: 'legacy', Status: 'passing', ServiceID: `legacy-${id}` } },
    });

    const s2 = await registry.beginReconcile(ss, 2_000);
    assert.deepEqual(s2.actual[0]?.foreign?.serviceIds, [`legacy-${id}`]);
    assert.equal((await s2.apply(localPlan(ss, [], s2))).counts.deregistered, 1);
    const held = (await c.http('GET', `/v1/catalog/node/${vm.node}`)).body as { Node: { Meta: Record<string, string> }; Services: Record<string, unknown> };
    assert.equal(held.Node.Meta['external-source'], undefined, 'released');
    assert.deepEqual(Object.keys(held.Services), [`legacy-${id}`]);
    assert.deepEqual(((await c.http('GET', `/v1/health/node/${vm.node}`)).body as Array<{ CheckID: string }>).map((ch) => ch.CheckID), ['legacy-check']);
    assert.deepEqual((await registry.serviceEndpoints([service]))[0]?.endpoints, []);

    // Back with the same name (tombstones expire at once here): the node is taken back, theirs kept.
    const s3 = await registry.beginReconcile(ss, 3_000);
    assert.equal((await s3.apply(localPlan(ss, [vm], s3))).counts.registered, 1);
    const back = (await c.http('GET', `/v1/catalog/node/${vm.node}`)).body as { Services: Record<string, unknown> };
    assert.deepEqual(Object.keys(back.Services).sort(), [`legacy-${id}`, service].sort());
  });

  test("the node check consul-esm keeps on our external-probe nodes does not keep the node: it is deleted whole", async (t) => {
    const c = await target(t);
    const id = uniqueSuffix();
    const ss = scaleSetId(`contract-esm-${id}`);
    const prefix = `vmss-mesh-contract-${id}`;
    c.ownsPrefix(prefix);
    const registry = new ConsulRegistry({ consul: consulConfigFor(c.url, c.token), kvPrefix: prefix, txnBatchSize: 16, tombstoneTtlMs: 0 });
    t.after(() => registry.close());
    const vm = desiredNode(ss, { name: 'vm_0', ip: '10.9.1.4', services: [{ name: `mesh-${id}`, port: 8080 }] });
    c.ownsNode(vm.node);
    const s1 = await registry.beginReconcile(ss, 1_000);
    assert.equal((await s1.apply(localPlan(ss, [vm], s1))).counts.registered, 1);
    // What consul-esm sends for a node it probes (coordinate.go, updateNodeCheck).
    const esm = await c.http('PUT', '/v1/catalog/register', {
      body: { Node: vm.node, SkipNodeUpdate: true, Check: { CheckID: 'externalNodeHealth', Name: 'External Node Status', Status: 'passing', Output: 'Node alive or reachable' } },
    });
    assert.equal(esm.status, 200);

    const s2 = await registry.beginReconcile(ss, 2_000);
    assert.equal(s2.actual[0]?.foreign, undefined);
    assert.equal((await s2.apply(localPlan(ss, [], s2))).counts.deregistered, 1);
    assert.equal((await c.http('GET', `/v1/catalog/node/${vm.node}`)).body, null, 'gone, not released');
    assert.deepEqual((await c.http('GET', `/v1/health/node/${vm.node}`)).body, []);
  });
});
