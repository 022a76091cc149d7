/**
 * Properties of the Consul double's filter module: printing a tree and parsing it back gives the
 * same tree; no input makes it throw anything but a FilterError; and on generated health entries
 * it keeps exactly the records a reference reading of go-bexpr's rules keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHECK_SERVICE_NODE, FilterError, createFilter, formatExpression, parseFilter } from '../../src/sandbox/consul-double/filter';
import type { Expression, MatchOperator } from '../../src/sandbox/consul-double/filter';

const RUNS = Number(process.env.VMSS_MESH_PROPERTY_RUNS ?? 300);

const identifier = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,6}$/);
const mapKey = fc.oneof(identifier, fc.string({ minLength: 1, maxLength: 6 }));
const OPERATORS: readonly MatchOperator[] = ['Equal', 'Not Equal', 'In', 'Not In', 'Is Empty', 'Is Not Empty', 'Matches', 'Not Matches'];

const matchArb = fc
  .record({ head: identifier, rest: fc.array(mapKey, { maxLength: 3 }), operator: fc.constantFrom(...OPERATORS), value: fc.string({ maxLength: 8 }) })
  .map(({ head, rest, operator, value }): Expression => {
    const selector = [head, ...rest];
    return operator === 'Is Empty' || operator === 'Is Not Empty' ? { kind: 'match', selector, operator } : { kind: 'match', selector, operator, value };
  });

const expressionArb: fc.Arbitrary<Expression> = fc.letrec<{ e: Expression }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    matchArb,
    tie('e').map((operand): Expression => ({ kind: 'not', operand })),
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('e'), right: tie('e') }),
  ),
})).e;

/** The parser drops `not not` (go-bexpr's grammar action does). */
function collapse(e: Expression): Expression {
  switch (e.kind) {
    case 'match':
      return e;
    case 'not': {
      const operand = collapse(e.operand);
      return operand.kind === 'not' ? operand.operand : { kind: 'not', operand };
    }
    default:
      return { kind: e.kind, left: collapse(e.left), right: collapse(e.right) };
  }
}

test('formatExpression then parseFilter gives the same tree', () => {
  fc.assert(
    fc.property(expressionArb, (e) => {
      assert.deepEqual(parseFilter(formatExpression(e)), collapse(e));
    }),
    { numRuns: RUNS },
  );
});

const TOKENS = ['Node', 'Service', 'Checks', '.', 'Meta', '["k"]', '[', ']', '==', '!=', ' ', 'in', 'not', 'is', 'empty', 'contains', 'matches', 'and', 'or', '(', ')', '"x"', '`y`', '"', '`', '-', '1', '1.5', 'Status', 'Tags', '\\', '\n'];

test('any input parses, or fails with a FilterError and nothing else', () => {
  const input = fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...TOKENS), { maxLength: 14 }).map((t) => t.join('')));
  fc.assert(
    fc.property(input, (text) => {
      try {
        const keep = createFilter(text, CHECK_SERVICE_NODE);
        keep({ Node: {}, Service: {}, Checks: [{}] });
      } catch (error) {
        if (!(error instanceof FilterError)) throw error;
        assert.match(error.message, /^Failed to create boolean expression evaluator: ./);
      }
    }),
    { numRuns: RUNS * 3 },
  );
});

// ---------------------------------------------------------------- evaluator against a reference

const WORDS = ['', '1', 'a', 'vmss-mesh', 'passing', 'critical'];
const word = fc.constantFrom(...WORDS);
const meta = fc.dictionary(fc.constantFrom('zone', 'env', 'external-source'), word, { maxKeys: 3 });
const tags = fc.uniqueArray(fc.constantFrom('a', 'b', 'vmss-mesh'), { maxLength: 3 });
const entryArb = fc.record({
  Node: fc.record({ Node: fc.constantFrom('n1', 'n2'), Address: fc.constantFrom('10.0.0.1', ''), Meta: meta, TaggedAddresses: fc.constantFrom(null, { lan: '10.0.0.1' }) }),
  Service: fc.record({ ID: word, Service: fc.constantFrom('web'), Tags: tags, Meta: meta, Port: fc.constantFrom(0, 80, 8080), EnableTagOverride: fc.boolean() }),
  Checks: fc.array(fc.record({ CheckID: word, Status: fc.constantFrom('passing', 'warning', 'critical'), ServiceTags: tags }), { maxLength: 3 }),
});
type Entry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

type Kind = 'string' | 'int' | 'bool' | 'map' | 'list' | 'structs';
interface SelectorCase {
  readonly path: readonly string[];
  readonly kind: Kind;
}
const SELECTORS: readonly SelectorCase[] = [
  { path: ['Node', 'Node'], kind: 'string' },
  { path: ['Node', 'Address'], kind: 'string' },
  { path: ['Node', 'Meta'], kind: 'map' },
  { path: ['Node', 'TaggedAddresses'], kind: 'map' },
  ...['zone', 'env', 'external-source'].map((k) => ({ path: ['Node', 'Meta', k], kind: 'string' as const })),
  { path: ['Node', 'TaggedAddresses', 'lan'], kind: 'string' },
  { path: ['Service', 'ID'], kind: 'string' },
  { path: ['Service', 'Tags'], kind: 'list' },
  { path: ['Service', 'Meta', 'env'], kind: 'string' },
  { path: ['Service', 'Port'], kind: 'int' },
  { path: ['Service', 'EnableTagOverride'], kind: 'bool' },
  { path: ['Checks'], kind: 'structs' },
  { path: ['Checks', 'Status'], kind: 'string' },
  { path: ['Checks', 'CheckID'], kind: 'string' },
  { path: ['Checks', 'ServiceTags'], kind: 'list' },
];
const OPS_BY_KIND: Readonly<Record<Kind, readonly MatchOperator[]>> = {
  string: ['Equal', 'Not Equal', 'In', 'Not In', 'Matches', 'Not Matches'],
  int: ['Equal', 'Not Equal'],
  bool: ['Equal', 'Not Equal'],
  map: ['Is Empty', 'Is Not Empty', 'In', 'Not In'],
  list: ['In', 'Not In', 'Is Empty', 'Is Not Empty'],
  structs: ['Is Empty', 'Is Not Empty'],
};
const VALUES_BY_KIND: Readonly<Record<Kind, readonly string[]>> = {
  string: [...WORDS, 'vmss', '^v', 'l$', '.'],
  int: ['0', '80', '8080', '0x50'],
  bool: ['true', 'false', '1', 'F'],
  map: ['zone', 'env', 'lan', 'x'],
  list: ['a', 'b', 'vmss-mesh', 'c'],
  structs: [],
};

const validMatch = fc
  .constantFrom(...SELECTORS)
  .chain((s) => fc.record({ s: fc.constant(s), operator: fc.constantFrom(...OPS_BY_KIND[s.kind]), value: fc.constantFrom('', ...VALUES_BY_KIND[s.kind]) }))
  .map(({ s, operator, value }): Expression => (operator === 'Is Empty' || operator === 'Is Not Empty' ? { kind: 'match', selector: s.path, operator } : { kind: 'match', selector: s.path, operator, value }))
  .filter((m) => m.kind !== 'match' || !(m.selector[m.selector.length - 1] === 'Port' && m.value === ''))
  .filter((m) => m.kind !== 'match' || !(m.selector[m.selector.length - 1] === 'EnableTagOverride' && m.value === ''));

const validExpression: fc.Arbitrary<Expression> = fc.letrec<{ e: Expression }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small' },
    validMatch,
    tie('e').map((operand): Expression => ({ kind: 'not', operand })),
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('e'), right: tie('e') }),
  ),
})).e;

/** Every place the selector reaches: lists fan out, a missing map key is an instance without a value. */
function instances(value: unknown, path: readonly string[]): { present: boolean; value?: unknown }[] {
  if (Array.isArray(value) && path.length > 0) return value.flatMap((item) => instances(item, path));
  if (path.length === 0) return [{ present: true, value }];
  const [head, ...rest] = path as [string, ...string[]];
  const obj = (value ?? {}) as Record<string, unknown>;
  if (!(head in obj)) return rest.length === 0 && isMapParent(path) ? [{ present: false }] : instances(undefined, rest);
  return instances(obj[head], rest);
}
function isMapParent(path: readonly string[]): boolean {
  return path.length === 1 && !['Node', 'Address', 'ID', 'Tags', 'Port', 'EnableTagOverride', 'Status', 'CheckID', 'ServiceTags', 'Meta', 'TaggedAddresses', 'Checks'].includes(path[0] ?? '');
}

function reference(e: Expression, entry: Entry): boolean {
  switch (e.kind) {
    case 'not':
      return !reference(e.operand, entry);
    case 'and':
      return reference(e.left, entry) && reference(e.right, entry);
    case 'or':
      return reference(e.left, entry) || reference(e.right, entry);
    case 'match': {
      const negated = ['Not Equal', 'Not In', 'Is Not Empty', 'Not Matches'].includes(e.operator);
      const base = e.operator.replace('Not ', '').replace('Is Not', 'Is');
      return instances(entry, e.selector).some((inst) => {
        if (!inst.present) return !['Equal', 'Is Not Empty', 'In'].includes(e.operator);
        const v = inst.value;
        const raw = e.value ?? '';
        let result: boolean;
        if (base === 'Equal') result = typeof v === 'number' ? v === Number(raw) : typeof v === 'boolean' ? v === ['true', '1', 't', 'T', 'True', 'TRUE'].includes(raw) : (v ?? '') === raw;
        else if (base === 'In') result = Array.isArray(v) ? v.includes(raw) : typeof v === 'string' ? v.includes(raw) : Object.keys((v ?? {}) as object).includes(raw);
        else if (base === 'Is Empty') result = Array.isArray(v) ? v.length === 0 : Object.keys((v ?? {}) as object).length === 0;
        else result = new RegExp(raw, 'u').test(String(v ?? ''));
        return negated ? !result : result;
      });
    }
  }
}

test('the filter keeps what a reference reading of go-bexpr v0.1.2 keeps', () => {
  fc.assert(
    fc.property(validExpression, fc.array(entryArb, { maxLength: 5 }), (e, entries) => {
      const keep = createFilter(formatExpression(e), CHECK_SERVICE_NODE);
      for (const entry of entries) assert.equal(keep(entry), reference(e, entry), `${formatExpression(e)} on ${JSON.stringify(entry)}`);
    }),
    { numRuns: RUNS },
  );
});
