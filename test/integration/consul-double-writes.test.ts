/**
 * The double changes its world in place and undoes a failed write (World.transact): a transaction
 * whose last operation fails must leave nothing behind — entries, per-node service and check maps,
 * table and service indexes, the KV graveyard — and a kept write must not disturb a snapshot taken
 * before it. Random transactions are checked against a replay on a fresh double.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { consulHttp, startDouble } from '../helpers/consul-fixtures';

type Op = Record<string, unknown>;

const node = fc.constantFrom('n1', 'n2', 'n3');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ n: node, ip: fc.constantFrom('10.0.0.1', '10.0.0.2') }).map(({ n, ip }) => ({ Node: { Verb: 'set', Node: { Node: n, Address: ip } } })),
  node.map((n) => ({ Node: { Verb: 'delete', Node: { Node: n } } })),
  fc.record({ n: node, s: fc.constantFrom('web', 'api'), port: fc.constantFrom(80, 81) }).map(({ n, s, port }) => ({ Service: { Verb: 'set', Node: n, Service: { ID: s, Service: s, Port: port } } })),
  fc.record({ n: node, s: fc.constantFrom('web', 'api') }).map(({ n, s }) => ({ Service: { Verb: 'delete', Node: n, Service: { ID: s } } })),
  fc.record({ n: node, status: fc.constantFrom('passing', 'critical') }).map(({ n, status }) => ({ Check: { Verb: 'set', Check: { Node: n, CheckID: 'c', Name: 'c', Status: status } } })),
  node.map((n) => ({ Check: { Verb: 'delete', Check: { Node: n, CheckID: 'c' } } })),
  fc.record({ k: fc.constantFrom('a', 'b/c'), v: fc.constantFrom('x', 'y') }).map(({ k, v }) => ({ KV: { Verb: 'set', Key: k, Value: Buffer.from(v).toString('base64') } })),
  fc.constantFrom('a', 'b/c').map((k) => ({ KV: { Verb: 'delete', Key: k } })),
);

/** Every index a blocked query may be waiting on, as the HTTP API reports them. */
async function indexes(url: string): Promise<number[]> {
  const paths = ['/v1/catalog/nodes', '/v1/catalog/services', '/v1/health/service/web', '/v1/health/service/api', '/v1/health/state/any', '/v1/kv/?recurse', '/v1/kv/a'];
  return Promise.all(paths.map(async (p) => (await consulHttp(url, 'GET', p)).index));
}

describe('Consul double writes', () => {
  test('a transaction that fails at its last operation leaves the world and every index as they were', async (t) => {
    const consul = await startDouble(t);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 6 }), fc.array(opArb, { minLength: 1, maxLength: 8 }), async (setup, ops) => {
        await consulHttp(consul.url, 'PUT', '/v1/txn', { body: [{ KV: { Verb: 'delete-tree', Key: '' } }, ...['n1', 'n2', 'n3'].map((n) => ({ Node: { Verb: 'delete', Node: { Node: n } } }))] });
        // Every node with a service and a check first, so the operations below change entries, not only add them.
        const base = ['n1', 'n2', 'n3'].flatMap((n) => [
          { Node: { Verb: 'set', Node: { Node: n, Address: '10.0.0.9' } } },
          { Service: { Verb: 'set', Node: n, Service: { ID: 'web', Service: 'web', Port: 79 } } },
          { Check: { Verb: 'set', Check: { Node: n, CheckID: 'c', Name: 'c', Status: 'warning' } } },
        ]);
        await consulHttp(consul.url, 'PUT', '/v1/txn', { body: [...base, { KV: { Verb: 'set', Key: 'a', Value: null } }] });
        for (const op of setup) await consulHttp(consul.url, 'PUT', '/v1/txn', { body: [op] });
        const before = consul.state.snapshot();
        const beforeIndexes = await indexes(consul.url);
        // check-index on a key that never exists: always fails, after everything else ran.
        const res = await consulHttp(consul.url, 'PUT', '/v1/txn', { body: [...ops, { KV: { Verb: 'check-index', Key: 'never', Index: 1 } }] });
        assert.equal(res.status, 409);
        assert.deepEqual(consul.state.snapshot(), before);
        assert.deepEqual(await indexes(consul.url), beforeIndexes);
      }),
      { numRuns: 60 },
    );
  });

  test('a kept transaction equals the same operations on a fresh double, and earlier snapshots stay as they were', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), async (ops) => {
        const replay = await startConsulDouble();
        const applicable: Op[] = [];
        for (const op of ops) {
          // Only operations the fresh double accepts one by one (a service needs its node).
          if ((await consulHttp(replay.url, 'PUT', '/v1/txn', { body: [op] })).status === 200) applicable.push(op);
        }
        const fresh = await startConsulDouble();
        const earlier = fresh.state.snapshot();
        const frozen = JSON.stringify(earlier);
        const res = await consulHttp(fresh.url, 'PUT', '/v1/txn', { body: applicable });
        assert.equal(res.status, 200);
        assert.equal(JSON.stringify(earlier), frozen, 'a snapshot taken before the write is not changed by it');
        const strip = (s: ReturnType<typeof fresh.state.snapshot>) => ({
          nodes: s.nodes.map((n) => [n.node, n.address]),
          services: s.services.map((x) => [x.node, x.id, x.port]),
          checks: s.checks.map((c) => [c.node, c.checkId, c.status]),
          kv: s.kv.map((e) => [e.key, e.value]),
        });
        try {
          assert.deepEqual(strip(fresh.state.snapshot()), strip(replay.state.snapshot()));
        } finally {
          await replay.close();
          await fresh.close();
        }
      }),
      { numRuns: 30 },
    );
  });
});
