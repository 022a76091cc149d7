import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DesiredService, OwnedNode } from '../../src/shared/model';
import { applyRemovalCap, removalLimit } from '../../src/shared/planner/removal-cap';

function node(name: string, services: string[]): OwnedNode {
  return {
    node: name,
    address: '10.0.0.1',
    nodeMeta: {},
    services: services.map((s): DesiredService => ({ id: s, name: s, port: 80, tags: [], meta: {} })),
    azureCheck: { status: 'passing', output: '' },
    draining: false,
    instanceResourceId: `/vm/${name}`,
    nodeModifyIndex: 1,
  };
}

describe('removalLimit', () => {
  const rows: Array<[number, number, number]> = [
    [0.5, 1, 0],
    [0.5, 2, 1],
    [0.5, 5, 2],
    [1, 7, 7],
    [0.29, 100, 29], // 0.29 × 100 is 28.999999999999996 in floating point
    [0.1, 30, 3],
    [0.7, 10, 7],
    [0.01, 50, 0],
  ];
  for (const [share, registered, limit] of rows) {
    test(`floor(${share} × ${registered}) = ${limit}`, () => assert.equal(removalLimit(share, registered), limit));
  }
});

describe('applyRemovalCap', () => {
  test('takes candidates in node-name order until a service budget is used up', () => {
    const registered = ['a', 'b', 'c', 'd'].map((n) => node(n, ['web']));
    const { allowed, capped } = applyRemovalCap([registered[3]!, registered[1]!, registered[2]!], registered, 0.5);
    assert.deepEqual(allowed.map((n) => n.node), ['b', 'c']);
    assert.deepEqual(capped.map((c) => [c.node.node, c.service, c.limit, c.registered]), [['d', 'web', 2, 4]]);
  });

  test('a node with two services needs room under both', () => {
    const registered = [node('a', ['web', 'echo']), node('b', ['web']), node('c', ['web']), node('d', ['web'])];
    // web allows 2 of 4, echo allows 0 of 1: the two-service node is held back, the web-only ones go.
    const { allowed, capped } = applyRemovalCap([registered[0]!, registered[1]!, registered[2]!], registered, 0.5);
    assert.deepEqual(allowed.map((n) => n.node), ['b', 'c']);
    assert.deepEqual(capped.map((c) => [c.node.node, c.service, c.limit, c.registered]), [['a', 'echo', 0, 1]]);
  });

  test('a node without services is never held back (it serves nobody)', () => {
    const bare = node('bare', []);
    assert.deepEqual(applyRemovalCap([bare], [bare], 0.1).allowed, [bare]);
  });

  test('budgets are per service: removals of one do not use up another', () => {
    const registered = [node('a', ['web']), node('b', ['web']), node('c', ['echo']), node('d', ['echo'])];
    const { allowed, capped } = applyRemovalCap([registered[0]!, registered[2]!], registered, 0.5);
    assert.deepEqual(allowed.map((n) => n.node), ['a', 'c']);
    assert.deepEqual(capped, []);
  });
});
