/**
 * The Consul double refuses what it does not implement (query parameters, X-Consul-* headers,
 * body fields) with 400 instead of ignoring it, and implements `?filter=` on the catalog and
 * health reads. Real Consul ignores unknown parameters and fields; these refusals are the double's
 * own, so that a caller's typo or an unsupported option fails a test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { consulHttp, startDouble } from '../helpers/consul-fixtures';

async function seed(url: string): Promise<void> {
  const register = async (node: string, zone: string, tags: string[], status: string): Promise<void> => {
    const res = await consulHttp(url, 'PUT', '/v1/catalog/register', {
      body: {
        Node: node,
        Address: `10.0.0.${node.length}`,
        NodeMeta: { zone, 'external-source': 'vmss-mesh' },
        Service: { ID: `web-${node}`, Service: 'web', Port: 8080, Tags: tags, Meta: { version: zone === '1' ? 'v1' : 'v2' } },
        Checks: [{ CheckID: `health-${node}`, Name: 'health', Status: status, ServiceID: `web-${node}` }],
      },
    });
    assert.equal(res.status, 200, res.text);
  };
  await register('a', '1', ['vmss-mesh'], 'passing');
  await register('bb', '2', ['vmss-mesh', 'canary'], 'critical');
}

/** fetch() refuses a GET with a body; node:http sends one. */
function getWithBody(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const q = (filter: string): string => `filter=${encodeURIComponent(filter)}`;

describe('Consul double: query parameters', () => {
  test('an unknown parameter is a 400 naming it, on every endpoint and method', async (t) => {
    const consul = await startDouble(t);
    const cases: Array<[string, string]> = [
      ['GET', '/v1/health/service/web?tags=x'],
      ['GET', '/v1/catalog/services?node_meta=a:b'],
      ['GET', '/v1/catalog/nodes?filters=x'],
      ['GET', '/v1/kv/a?recursive'],
      ['PUT', '/v1/kv/a?CAS=0'],
      ['PUT', '/v1/txn?index=3'],
      ['GET', '/v1/status/leader?verbose'],
    ];
    for (const [method, path] of cases) {
      const res = await consulHttp(consul.url, method, path, method === 'PUT' ? { raw: path.includes('txn') ? '[]' : 'v' } : {});
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      const name = new URL(path, 'http://x').searchParams.keys().next().value;
      assert.match(res.text, new RegExp(`^Invalid query parameter "${name}" for ${method} /v1/`), res.text);
    }
    assert.equal(consul.state.snapshot().kv.length, 0, 'a refused write wrote nothing');
  });

  test('parameters Consul has but the double does not model are refused with the reason', async (t) => {
    const consul = await startDouble(t);
    const reasons: Record<string, RegExp> = {
      'ns=team': /namespaces are not modelled/,
      'partition=p': /admin partitions are not modelled/,
      'peer=other': /cluster peering is not modelled/,
      cached: /agent caching is not modelled/,
      'near=_agent': /network coordinates are not modelled/,
      'merge-central-config': /config entries are not modelled/,
    };
    for (const [param, reason] of Object.entries(reasons)) {
      const res = await consulHttp(consul.url, 'GET', `/v1/health/service/web?${param}`);
      assert.equal(res.status, 400, param);
      assert.match(res.text, reason);
    }
    const session = await consulHttp(consul.url, 'PUT', '/v1/kv/lock?acquire=abc', { raw: 'v' });
    assert.deepEqual([session.status, /sessions are not modelled/.test(session.text)], [400, true]);
    const filterOnKv = await consulHttp(consul.url, 'GET', `/v1/kv/a?${q('Key == a')}`);
    assert.equal(filterOnKv.status, 400, 'the KV endpoint takes no filter');
  });

  test('the parameters the project sends are implemented: ?stale and ?consistent conflict as in Consul; ?pretty indents', async (t) => {
    const consul = await startDouble(t);
    await seed(consul.url);
    const ok = await consulHttp(consul.url, 'GET', '/v1/health/service/web?tag=vmss-mesh&node-meta=external-source:vmss-mesh&index=1&wait=1s&consistent=&dc=dc1');
    assert.equal(ok.status, 200, ok.text);
    const both = await consulHttp(consul.url, 'GET', '/v1/catalog/nodes?stale&consistent');
    assert.deepEqual([both.status, both.text], [400, 'Cannot specify ?stale with ?consistent, conflicting semantics.']);
    const passing = async (value: string): Promise<number | string> => {
      const res = await consulHttp(consul.url, 'GET', `/v1/health/service/web?${value}`);
      return res.status === 200 ? (res.body as unknown[]).length : res.text;
    };
    assert.deepEqual([await passing('passing'), await passing('passing=1'), await passing('passing=false'), await passing('passing=maybe')], [1, 1, 2, 'Invalid value for ?passing']);
    const pretty = await consulHttp(consul.url, 'GET', '/v1/catalog/datacenters?pretty');
    assert.equal(pretty.text, '[\n    "dc1"\n]\n');
  });
});

describe('Consul double: headers and bodies', () => {
  test('X-Consul-* headers other than the token are refused; a GET with a body is refused', async (t) => {
    const consul = await startDouble(t);
    const ns = await fetch(`${consul.url}/v1/catalog/nodes`, { headers: { 'X-Consul-Namespace': 'team' } });
    assert.equal(ns.status, 400);
    assert.match(await ns.text(), /^Invalid header "x-consul-namespace": not implemented by the Consul double \(Consul Enterprise namespaces/);
    const odd = await fetch(`${consul.url}/v1/catalog/nodes`, { headers: { 'X-Consul-Tokn': 'typo' } });
    assert.equal(odd.status, 400);
    const token = await fetch(`${consul.url}/v1/catalog/nodes`, { headers: { 'X-Consul-Token': 'anything', 'User-Agent': 'x', Accept: 'application/json' } });
    assert.equal(token.status, 200, 'the token and ordinary HTTP headers pass');
    const withBody = await getWithBody(`${consul.url}/v1/catalog/nodes`, '{"filter":"x"}');
    assert.equal(withBody.status, 400);
    assert.match(withBody.text, /GET with a body/);
  });

  test('register and deregister: unknown fields and fields the double does not model are 400; nothing is written', async (t) => {
    const consul = await startDouble(t);
    const cases: Array<[unknown, RegExp]> = [
      [{ Node: 'n', Address: '10.0.0.1', NodeMetas: { a: 'b' } }, /^Request decode failed: unknown field "NodeMetas" in structs\.RegisterRequest/],
      [{ Node: 'n', Address: '10.0.0.1', Meta: { a: 'b' } }, /unknown field "Meta" in structs\.RegisterRequest/],
      [{ Node: 'n', Address: '10.0.0.1', Service: { Service: 'web', Kind: 'connect-proxy' } }, /^Request decode failed: field "Service\.Kind" of structs\.NodeService is not implemented by the Consul double$/],
      [{ Node: 'n', Address: '10.0.0.1', Service: { Service: 'web', Weights: { Passing: 1, Critical: 0 } } }, /unknown field "Service\.Weights\.Critical"/],
      [{ Node: 'n', Address: '10.0.0.1', Checks: [{ CheckID: 'c' }, { CheckID: 'd', Interval: '10s' }] }, /field "Checks\[1\]\.Interval" of structs\.HealthCheck is not implemented/],
      [{ Node: 'n', Address: '10.0.0.1', Namespace: 'team' }, /field "Namespace" of structs\.RegisterRequest is not implemented/],
    ];
    for (const [body, expected] of cases) {
      const res = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.text, expected);
    }
    const deregister = await consulHttp(consul.url, 'PUT', '/v1/catalog/deregister', { body: { Node: 'n', ServiceId: 'x', Service: 'y' } });
    assert.equal(deregister.status, 400);
    assert.match(deregister.text, /unknown field "Service" in structs\.DeregisterRequest/);
    assert.equal(consul.state.snapshot().nodes.length, 0);
    const lowerCase = await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { node: 'n', address: '10.0.0.1', nodemeta: { a: 'b' } } });
    assert.equal(lowerCase.status, 200, 'field names match case-insensitively, as Go decodes JSON');
  });

  test('txn: an unknown field or an unmodelled operation refuses the whole body before anything runs', async (t) => {
    const consul = await startDouble(t);
    const set = { KV: { Verb: 'set', Key: 'k', Value: Buffer.from('v').toString('base64') } };
    const cases: Array<[unknown[], RegExp]> = [
      [[set, { KV: { Verb: 'set', Key: 'k2', Vaule: 'eA==' } }], /^Failed to parse body: unknown field "\[1\]\.KV\.Vaule" in api\.KVTxnOp/],
      [[set, { Session: { Verb: 'delete' } }], /^Failed to parse body: field "\[1\]\.Session" of api\.TxnOp is not implemented by the Consul double$/],
      [[{ Node: { Verb: 'set', Node: { Node: 'n', Address: 'a', NodeMeta: {} } } }], /unknown field "\[0\]\.Node\.Node\.NodeMeta" in structs\.Node/],
      [[{ Service: { Verb: 'set', Node: 'n', Service: { ID: 's', Proxy: {} } } }], /field "\[0\]\.Service\.Service\.Proxy" of structs\.NodeService is not implemented/],
    ];
    for (const [ops, expected] of cases) {
      const res = await consulHttp(consul.url, 'PUT', '/v1/txn', { body: ops });
      assert.equal(res.status, 400, JSON.stringify(ops));
      assert.match(res.text, expected);
    }
    assert.equal(consul.state.snapshot().kv.length, 0, 'the valid first op did not run either');
  });
});

describe('Consul double: ?filter=', () => {
  test('health service entries: Node, Service and Checks selectors with their meta', async (t) => {
    const consul = await startDouble(t);
    await seed(consul.url);
    const nodes = async (filter: string): Promise<string[]> => {
      const res = await consulHttp(consul.url, 'GET', `/v1/health/service/web?${q(filter)}`);
      assert.equal(res.status, 200, res.text);
      return (res.body as Array<{ Node: { Node: string } }>).map((e) => e.Node.Node);
    };
    assert.deepEqual(await nodes('Node.Meta.zone == "1"'), ['a']);
    assert.deepEqual(await nodes('Service.Meta.version == v2'), ['bb']);
    assert.deepEqual(await nodes('"canary" in Service.Tags'), ['bb']);
    assert.deepEqual(await nodes('Checks.Status == critical'), ['bb']);
    assert.deepEqual(await nodes('not (Checks.Status == critical) and Node.Meta["external-source"] == "vmss-mesh"'), ['a']);
    assert.deepEqual(await nodes('Service.Port == 8080 and Node.Address matches "^10\\\\.0\\\\.0\\\\."'), ['a', 'bb']);
    assert.deepEqual(await nodes(''), ['a', 'bb'], 'an empty filter is no filter, as in Consul');
  });

  test('a bad expression or selector is a 400 with the text Consul gives, before any blocking', async (t) => {
    const consul = await startDouble(t);
    await seed(consul.url);
    const bad = await consulHttp(consul.url, 'GET', `/v1/health/service/web?${q('Node.Meta.zone == 1.2.3')}`);
    assert.deepEqual([bad.status, bad.text], [400, 'Failed to create boolean expression evaluator: 1:22 (21): rule "number": Invalid number literal']);
    const selector = await consulHttp(consul.url, 'GET', `/v1/health/service/web?index=${consul.state.index}&wait=10m&${q('Service.Version == v1')}`);
    assert.deepEqual([selector.status, selector.text], [400, 'Failed to create boolean expression evaluator: Selector "Service.Version" is not valid']);
  });

  test('catalog nodes, catalog service, catalog services and health state/checks/node filter their own record types', async (t) => {
    const consul = await startDouble(t);
    await seed(consul.url);
    const get = async (path: string): Promise<unknown> => {
      const res = await consulHttp(consul.url, 'GET', path);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
      return res.body;
    };
    assert.deepEqual((await get(`/v1/catalog/nodes?${q('Meta.zone == "2"')}`) as Array<{ Node: string }>).map((n) => n.Node), ['bb']);
    assert.deepEqual((await get(`/v1/catalog/service/web?${q('ServiceTags contains canary')}`) as Array<{ Node: string }>).map((n) => n.Node), ['bb']);
    assert.deepEqual(await get(`/v1/catalog/services?${q('NodeMeta.zone == "1"')}`), { web: ['vmss-mesh'] }, 'tags of the kept instances only');
    assert.deepEqual((await get(`/v1/health/state/any?${q('Status == critical')}`) as Array<{ Node: string }>).map((c) => c.Node), ['bb']);
    assert.deepEqual((await get(`/v1/health/checks/web?${q('Node == a')}`) as Array<{ CheckID: string }>).map((c) => c.CheckID), ['health-a']);
    assert.deepEqual(await get(`/v1/health/node/a?${q('ServiceName != ""')}`), await get('/v1/health/node/a'));
    const nodeSelectorOnChecks = await consulHttp(consul.url, 'GET', `/v1/health/state/any?${q('Node.Node == a')}`);
    assert.equal(nodeSelectorOnChecks.status, 400, 'a check has Node as a string, not a struct');
    assert.match(nodeSelectorOnChecks.text, /Selector "Node\.Node" is not valid/);
  });

  test('a blocking query with a filter wakes on changes of the service and keeps filtering', async (t) => {
    const consul = await startDouble(t);
    await seed(consul.url);
    const first = await consulHttp(consul.url, 'GET', `/v1/health/service/web?${q('Checks.Status == passing')}`);
    assert.deepEqual((first.body as Array<{ Node: { Node: string } }>).map((e) => e.Node.Node), ['a']);
    const held = consulHttp(consul.url, 'GET', `/v1/health/service/web?index=${first.index}&wait=30s&${q('Checks.Status == passing')}`);
    await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: 'bb', SkipNodeUpdate: true, Check: { CheckID: 'health-bb', Name: 'health', Status: 'passing', ServiceID: 'web-bb' } } });
    const woke = await held;
    assert.ok(woke.index > first.index);
    assert.deepEqual((woke.body as Array<{ Node: { Node: string } }>).map((e) => e.Node.Node), ['a', 'bb']);
  });
});
