/**
 * The Consul double's `filter` expressions: the examples of Consul's filtering docs
 * (website/content/api-docs/features/filtering.mdx), the error texts real Consul answered in its
 * issue tracker (hashicorp/consul#7338, #9441, #6467), and go-bexpr v0.1.2's rules one by one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_SERVICE_NODE, FilterError, HEALTH_CHECK, NODE_SERVICE, SERVICE_NODE, createFilter, formatExpression, parseFilter } from '../../src/sandbox/consul-double/filter';
import type { StructType } from '../../src/sandbox/consul-double/filter';

const PREFIX = 'Failed to create boolean expression evaluator: ';

function keep<T>(expression: string, root: StructType, records: readonly T[]): T[] {
  const predicate = createFilter(expression, root);
  return records.filter((r) => predicate(r));
}

function errorOf(expression: string, root: StructType = CHECK_SERVICE_NODE): string {
  try {
    createFilter(expression, root);
  } catch (error) {
    assert.ok(error instanceof FilterError, `expected a FilterError, got ${String(error)}`);
    assert.ok(error.message.startsWith(PREFIX), error.message);
    return error.message.slice(PREFIX.length);
  }
  return assert.fail(`${expression} was accepted`);
}

describe("Consul's filtering docs examples", () => {
  test('agent services: Meta.env == "qa" keeps redis3', () => {
    const services = [
      { ID: 'redis1', Service: 'redis', Tags: ['primary', 'production'], Meta: { env: 'production', foo: 'bar' }, Port: 1234 },
      { ID: 'redis2', Service: 'redis', Tags: ['secondary', 'production'], Meta: { env: 'production', foo: 'bar' }, Port: 1235 },
      { ID: 'redis3', Service: 'redis', Tags: ['primary', 'qa'], Meta: { env: 'qa' }, Port: 1234 },
    ];
    assert.deepEqual(keep('Meta.env == "qa"', NODE_SERVICE, services).map((s) => s.ID), ['redis3']);
  });

  test('catalog service: NodeMeta.os == "linux" keeps node-2', () => {
    const entries = [
      { Node: 'node-1', TaggedAddresses: null, NodeMeta: { agent: 'true', arch: 'i386', os: 'darwin' }, ServiceTags: ['tag'], ServiceMeta: { environment: 'qa' }, ServiceProxy: {}, ServiceConnect: {} },
      { Node: 'node-2', TaggedAddresses: null, NodeMeta: { arch: 'arm', os: 'linux' }, ServiceTags: ['test', 'tag'], ServiceMeta: { environment: 'production' }, ServiceProxy: {}, ServiceConnect: {} },
      { Node: 'node-4', TaggedAddresses: null, NodeMeta: { arch: 'i386', os: 'freebsd' }, ServiceTags: [], ServiceMeta: { environment: 'qa' }, ServiceProxy: {}, ServiceConnect: {} },
    ];
    assert.deepEqual(keep('NodeMeta.os == "linux"', SERVICE_NODE, entries).map((e) => e.Node), ['node-2']);
    // The selector forms of the docs: ["key"] for map keys, contains/in on lists.
    assert.deepEqual(keep('ServiceMeta["environment"] == qa', SERVICE_NODE, entries).map((e) => e.Node), ['node-1', 'node-4']);
    assert.deepEqual(keep('ServiceTags contains "test"', SERVICE_NODE, entries).map((e) => e.Node), ['node-2']);
    assert.deepEqual(keep('"tag" not in ServiceTags', SERVICE_NODE, entries).map((e) => e.Node), ['node-4']);
    assert.deepEqual(keep('ServiceTags is empty', SERVICE_NODE, entries).map((e) => e.Node), ['node-4']);
  });

  test('health node: ServiceName != "" keeps the service check', () => {
    const checks = [
      { Node: 'node-1', CheckID: 'node-health', Status: 'critical', ServiceID: '', ServiceName: '', ServiceTags: [] },
      { Node: 'node-1', CheckID: 'svc-web-health', Status: 'warning', ServiceID: '', ServiceName: 'web', ServiceTags: [] },
    ];
    assert.deepEqual(keep('ServiceName != ""', HEALTH_CHECK, checks).map((c) => c.CheckID), ['svc-web-health']);
  });

  test('precedence: a and not b or c is (a and (not b)) or c', () => {
    assert.equal(
      formatExpression(parseFilter('Node.Node == a and not Node.Node == b or Node.Node == c')),
      formatExpression(parseFilter('( Node.Node == a and (not Node.Node == b )) or Node.Node == c')),
    );
  });
});

describe('health service entries (what the relay reads)', () => {
  const entry = (node: string, meta: Record<string, string>, tags: string[], statuses: string[]) => ({
    Node: { ID: '', Node: node, Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: null, Meta: meta },
    Service: { ID: `${node}-web`, Service: 'web', Tags: tags, Address: '', Meta: {}, Port: 8080, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false },
    Checks: statuses.map((Status, i) => ({ Node: node, CheckID: `c${i}`, Status, ServiceTags: [] })),
  });
  const entries = [
    entry('a', { 'external-source': 'vmss-mesh', zone: '1' }, ['vmss-mesh'], ['passing', 'passing']),
    entry('b', { 'external-source': 'vmss-mesh' }, ['vmss-mesh', 'canary'], ['passing', 'critical']),
    entry('c', {}, [], []),
  ];
  const nodes = (expression: string): string[] => keep(expression, CHECK_SERVICE_NODE, entries).map((e) => e.Node.Node);

  test('a list in the selector matches when any element does', () => {
    assert.deepEqual(nodes('Checks.Status == critical'), ['b']);
    assert.deepEqual(nodes('Checks.Status != critical'), ['a', 'b'], 'b has a check that is not critical; c has no checks at all');
    assert.deepEqual(nodes('not Checks.Status == critical'), ['a', 'c']);
    assert.deepEqual(nodes('Checks is empty'), ['c']);
  });

  test('a missing map key: == and in are false, the others true', () => {
    assert.deepEqual(nodes('Node.Meta.zone == "1"'), ['a']);
    assert.deepEqual(nodes('Node.Meta.zone != "1"'), ['b', 'c']);
    assert.deepEqual(nodes('"1" in Node.Meta.zone'), ['a']);
    assert.deepEqual(nodes('"1" not in Node.Meta.zone'), ['b', 'c']);
    assert.deepEqual(nodes('Node.Meta.zone matches "^9$"'), ['b', 'c'], 'go-bexpr v0.1.2 answers true for matches on a missing key');
    assert.deepEqual(nodes('"zone" in Node.Meta'), ['a'], 'in on a map tests its keys');
    assert.deepEqual(nodes('Node.Meta["external-source"] == "vmss-mesh" and "canary" not in Service.Tags'), ['a']);
  });

  test('values: unquoted words, numbers coerced to the field, booleans, substrings, regular expressions', () => {
    assert.deepEqual(nodes('Service.Port == 8080'), ['a', 'b', 'c']);
    assert.deepEqual(nodes('Service.Port == "0x1F90"'), ['a', 'b', 'c'], 'strconv.ParseInt with base 0');
    assert.deepEqual(nodes('Service.EnableTagOverride == true'), []);
    assert.deepEqual(nodes('Service.Weights.Passing != 1'), []);
    assert.deepEqual(nodes('Service.ID contains "b-"'), ['b']);
    assert.deepEqual(nodes('Node.Node matches "^[ab]$" and Service.Proxy.Upstreams is empty'), ['a', 'b'], 'absent structs read as zero values');
    assert.deepEqual(nodes('Node.Node matches `(?i)^A$`'), ['a']);
  });
});

describe('errors, worded as Consul words them', () => {
  test('no match found lists what was expected at the farthest position (#7338)', () => {
    assert.equal(errorOf('foo'), '1:4 (3): no match found, expected: "!=", ".", "==", "[", [ \\t\\r\\n] or [a-zA-Z0-9_]');
  });

  test('a dotted number is an invalid number literal (#9441)', () => {
    assert.equal(errorOf('Node.Address == 10.10.10.10'), '1:22 (21): rule "number": Invalid number literal');
  });

  test('an unquoted value with a dash stops the parse (#6467)', () => {
    assert.equal(errorOf('Node.Node==host-name'), '1:16 (15): no match found, expected: ".", "[", [ \\t\\r\\n], [a-zA-Z0-9_] or EOF');
  });

  test("the grammar's own messages", () => {
    assert.equal(errorOf('(Node.Node == a'), '1:16 (15): rule "grouping": Unmatched parentheses');
    assert.equal(errorOf('Node.Meta[1] == a'), '1:11 (10): rule "index": Invalid index');
    assert.equal(errorOf('Node.Meta["a" == b'), '1:15 (14): rule "index": Unclosed index expression');
    assert.equal(errorOf('Node.Node == "abc'), '1:18 (17): rule "string": Unterminated string literal');
    assert.equal(errorOf('Node.Node == "\\q"'), '1:14 (13): rule "string": invalid syntax');
    assert.equal(errorOf('"a" in 1'), '1:8 (7): rule "match": Invalid selector');
    // Lines and columns after a newline, as pigeon counts them.
    assert.equal(errorOf('Node.Node == a\nor Node.Node = b'), '2:14 (28): no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not" or [ \\t\\r\\n]');
  });

  test('selectors, operators and values are checked against the record type', () => {
    assert.equal(errorOf('Service.Foo == 1'), 'Selector "Service.Foo" is not valid');
    assert.equal(errorOf('Checks.Type == ttl'), 'Selector "Checks.Type" is not valid', 'only the selectors of the docs tables');
    assert.equal(errorOf('service.ID == a'), 'Selector "service" is not valid', 'selectors are case-sensitive');
    assert.equal(errorOf('Node.Meta == x'), 'Invalid match operator "Equal" for selector "Node.Meta"');
    assert.equal(errorOf('Service.Port matches "8"'), 'Invalid match operator "Matches" for selector "Service.Port"');
    assert.equal(errorOf('Service is empty'), 'Invalid match operator "Is Empty" for selector "Service"');
    assert.equal(errorOf('Node.Meta.zone is empty'), 'Invalid match operator "Is Empty" for selector "Node.Meta.zone"', 'strings have no emptiness check in v0.1.2');
    assert.equal(errorOf('Service.Port == abc'), 'Failed to coerce value "abc" for selector "Service.Port": strconv.ParseInt: parsing "abc": invalid syntax');
    assert.equal(errorOf('Service.EnableTagOverride == yes'), 'Failed to coerce value "yes" for selector "Service.EnableTagOverride": strconv.ParseBool: parsing "yes": invalid syntax');
    assert.match(errorOf('Service.ID matches "("'), /^Failed to compile regular expression "\(": error parsing regexp: /);
    assert.match(errorOf('Service.ID matches "a(?=b)"'), /invalid or unsupported Perl syntax/);
  });

  test('long chains parse (Consul has no limit); nesting beyond the stack is a FilterError, not a crash', () => {
    const chain = Array.from({ length: 3000 }, (_, i) => `Node.Node != n${i}`).join(' and ');
    assert.equal(createFilter(chain, CHECK_SERVICE_NODE)({ Node: { Node: 'x' }, Service: {}, Checks: [] }), true);
    assert.equal(errorOf(`${'('.repeat(5000)}Node.Node == a${')'.repeat(5000)}`), 'expression nested too deeply for the Consul double');
  });

  test('the first failing match in the tree is reported (left before right)', () => {
    assert.equal(errorOf('Service.Foo == 1 or Node.Bar == 2'), 'Selector "Service.Foo" is not valid');
  });
});
