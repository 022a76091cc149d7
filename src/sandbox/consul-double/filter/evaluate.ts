/**
 * Checking and running a parsed filter against JSON records, with go-bexpr v0.1.2's rules:
 *  - at creation every selector is resolved against the record type: an unknown field is
 *    `Selector "Service.Foo" is not valid`; an operation the field's kind does not support is
 *    `Invalid match operator "Equal" for selector "Node.Meta"`; the value is coerced to the field's
 *    kind (`Failed to coerce value …`) and a `matches` value compiled (`Failed to compile regular expression …`);
 *  - a selector that crosses a list applies to every element and is true when any element matches
 *    (`Checks.Status == critical`: some check is critical);
 *  - a missing map key makes `==`, `is not empty` and `in` false and every other operation true;
 *  - `in` on a map tests its keys, on a list its elements, on a string a substring.
 * Regular expressions run as JavaScript's (RE2 syntax mostly coincides; lookarounds and back
 * references, which RE2 lacks, are refused like RE2 refuses them).
 */
import type { Expression, MatchExpression, MatchOperator } from './ast';
import { FilterError } from './ast';
import type { FieldType, StructType } from './schema';

type Coerced = string | bigint | boolean;

interface CheckedMatch {
  readonly expr: MatchExpression;
  readonly coerced?: Coerced;
  readonly regex?: RegExp;
}

export type Predicate = (record: unknown) => boolean;

const STRING_OPS: readonly MatchOperator[] = ['Equal', 'Not Equal', 'In', 'Not In', 'Matches', 'Not Matches'];
const SCALAR_OPS: readonly MatchOperator[] = ['Equal', 'Not Equal'];
const MAP_OPS: readonly MatchOperator[] = ['Is Empty', 'Is Not Empty', 'In', 'Not In'];
const PRIMITIVE_LIST_OPS: readonly MatchOperator[] = ['In', 'Not In', 'Is Empty', 'Is Not Empty'];
const LIST_OPS: readonly MatchOperator[] = ['Is Empty', 'Is Not Empty'];

function isPrimitive(t: FieldType): t is Extract<FieldType, { kind: 'string' | 'int' | 'bool' }> {
  return t.kind === 'string' || t.kind === 'int' || t.kind === 'bool';
}

/** Operations bexpr allows on a field of this type, and the kind its value is coerced to. */
function operationsOf(t: FieldType): { ops: readonly MatchOperator[]; coerce?: 'string' | 'int' | 'bool' } {
  switch (t.kind) {
    case 'string':
      return { ops: STRING_OPS, coerce: 'string' };
    case 'int':
    case 'bool':
      return { ops: SCALAR_OPS, coerce: t.kind };
    case 'map':
      return { ops: MAP_OPS, coerce: 'string' };
    case 'slice':
      return isPrimitive(t.elem) ? { ops: PRIMITIVE_LIST_OPS, coerce: t.elem.kind } : { ops: LIST_OPS };
    case 'struct':
      return { ops: [] };
  }
}

/** The fields a selector may continue with after a field of this type ('' = any map key). */
function subFields(t: FieldType): Readonly<Record<string, FieldType>> | undefined {
  switch (t.kind) {
    case 'struct':
      return Object.fromEntries(Object.entries(t.fields).map(([k, f]) => [k, f.type]));
    case 'map':
      return { '': t.value };
    case 'slice':
      return isPrimitive(t.elem) ? undefined : subFields(t.elem);
    default:
      return undefined;
  }
}

/** Validates every match of `ast` against `root` (bexpr's validateRecurse) and returns the predicate. */
export function compile(ast: Expression, root: StructType): Predicate {
  const checked = new Map<MatchExpression, CheckedMatch>();
  const visit = (e: Expression): void => {
    switch (e.kind) {
      case 'not':
        return visit(e.operand);
      case 'and':
      case 'or':
        visit(e.left);
        return visit(e.right);
      case 'match':
        checked.set(e, checkMatch(e, root));
    }
  };
  visit(ast);
  return (record) => evaluate(ast, record, root, checked);
}

function checkMatch(expr: MatchExpression, root: StructType): CheckedMatch {
  let fields: Readonly<Record<string, FieldType>> | undefined = subFields(root);
  let last: FieldType | undefined;
  expr.selector.forEach((name, i) => {
    const next = fields?.[name] ?? fields?.[''];
    if (!next) throw new FilterError(`Selector ${goQuote(expr.selector.slice(0, i + 1).join('.'))} is not valid`);
    last = next;
    fields = subFields(next);
  });
  if (!last) throw new FilterError(`Invalid selector: ${goQuote('')}`);
  const { ops, coerce } = operationsOf(last);
  const selector = goQuote(expr.selector.join('.'));
  if (!ops.includes(expr.operator)) throw new FilterError(`Invalid match operator ${goQuote(expr.operator)} for selector ${selector}`);
  if (expr.value === undefined) return { expr };
  let coerced: Coerced | undefined;
  if (coerce) {
    try {
      coerced = coerceValue(expr.value, coerce);
    } catch (error) {
      throw new FilterError(`Failed to coerce value ${goQuote(expr.value)} for selector ${selector}: ${(error as Error).message}`);
    }
  }
  if (expr.operator === 'Matches' || expr.operator === 'Not Matches') {
    const source = typeof coerced === 'string' ? coerced : expr.value;
    return { expr, coerced, regex: compileRegex(source) };
  }
  return { expr, coerced };
}

const GO_INT = /^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(v, 0, 64) / strconv.ParseBool with Go's error text. */
export function coerceValue(raw: string, kind: 'string' | 'int' | 'bool'): Coerced {
  if (kind === 'string') return raw;
  if (kind === 'bool') {
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
    throw new Error(`strconv.ParseBool: parsing ${goQuote(raw)}: invalid syntax`);
  }
  if (!GO_INT.test(raw)) throw new Error(`strconv.ParseInt: parsing ${goQuote(raw)}: invalid syntax`);
  const negative = raw.startsWith('-');
  let digits = raw.replace(/^[+-]/, '').replace(/_/g, '');
  if (/^0[0-7]/.test(digits)) digits = `0o${digits.slice(1)}`;
  const value = negative ? -BigInt(digits) : BigInt(digits);
  if (value < INT64_MIN || value > INT64_MAX) throw new Error(`strconv.ParseInt: parsing ${goQuote(raw)}: value out of range`);
  return value;
}

const UNSUPPORTED_REGEX = /\(\?[=!]|\(\?<[=!]|\\[1-9]|\\k</;

/** RE2 syntax as far as JavaScript shares it; a leading `(?flags)` group becomes JS flags. */
export function compileRegex(source: string): RegExp {
  const fail = (why: string): never => {
    throw new FilterError(`Failed to compile regular expression ${goQuote(source)}: error parsing regexp: ${why}`);
  };
  const unsupported = UNSUPPORTED_REGEX.exec(source);
  if (unsupported) fail(`invalid or unsupported Perl syntax: \`${unsupported[0]}\``);
  let body = source;
  let flags = 'u';
  const leading = /^\(\?([imsU]+)\)/.exec(body);
  if (leading) {
    const wanted = leading[1] ?? '';
    if (wanted.includes('U')) fail('the ungreedy flag (?U) is not supported by the Consul double');
    flags += wanted.replace(/[^ims]/g, '');
    body = body.slice(leading[0].length);
  }
  try {
    return new RegExp(body, flags);
  } catch (error) {
    return fail((error as Error).message);
  }
}

function evaluate(e: Expression, record: unknown, root: StructType, checked: ReadonlyMap<MatchExpression, CheckedMatch>): boolean {
  switch (e.kind) {
    case 'not':
      return !evaluate(e.operand, record, root, checked);
    case 'and':
      return evaluate(e.left, record, root, checked) && evaluate(e.right, record, root, checked);
    case 'or':
      return evaluate(e.left, record, root, checked) || evaluate(e.right, record, root, checked);
    case 'match': {
      const m = checked.get(e);
      if (!m) throw new FilterError('Invalid AST node');
      return matchAt(m, 0, record, root);
    }
  }
}

function matchAt(m: CheckedMatch, depth: number, value: unknown, type: FieldType): boolean {
  const { selector, operator } = m.expr;
  if (depth >= selector.length) return applyOperator(m, value, type);
  const name = selector[depth] ?? '';
  switch (type.kind) {
    case 'struct': {
      const field = type.fields[name];
      if (!field) throw new FilterError(`Selector ${goQuote(selector.slice(0, depth + 1).join('.'))} is not valid`);
      return matchAt(m, depth + 1, fieldValue(value, field.json ?? name, field.type), field.type);
    }
    case 'slice':
      return asArray(value).some((item) => matchAt(m, depth, item, type.elem));
    case 'map': {
      const map = asObject(value);
      if (!Object.prototype.hasOwnProperty.call(map, name)) return !(operator === 'Equal' || operator === 'Is Not Empty' || operator === 'In');
      return matchAt(m, depth + 1, map[name], type.value);
    }
    default:
      throw new FilterError(`Value at selector ${goQuote(selector.slice(0, depth).join('.'))} with type ${type.kind} does not support nested field selection`);
  }
}

function applyOperator(m: CheckedMatch, value: unknown, type: FieldType): boolean {
  switch (m.expr.operator) {
    case 'Equal':
      return equals(value, m.coerced);
    case 'Not Equal':
      return !equals(value, m.coerced);
    case 'In':
      return contains(value, type, m.coerced);
    case 'Not In':
      return !contains(value, type, m.coerced);
    case 'Is Empty':
      return sizeOf(value, type) === 0;
    case 'Is Not Empty':
      return sizeOf(value, type) !== 0;
    case 'Matches':
      return m.regex?.test(asString(value)) ?? false;
    case 'Not Matches':
      return !(m.regex?.test(asString(value)) ?? false);
  }
}

function equals(value: unknown, wanted: Coerced | undefined): boolean {
  if (typeof wanted === 'bigint') return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) === wanted : wanted === 0n && (value === null || value === undefined);
  if (typeof wanted === 'boolean') return (value ?? false) === wanted;
  return (value ?? '') === wanted;
}

function contains(value: unknown, type: FieldType, wanted: Coerced | undefined): boolean {
  if (type.kind === 'map') return typeof wanted === 'string' && Object.prototype.hasOwnProperty.call(asObject(value), wanted);
  if (type.kind === 'slice') return asArray(value).some((item) => equals(item, wanted));
  return typeof wanted === 'string' && asString(value).includes(wanted);
}

function sizeOf(value: unknown, type: FieldType): number {
  if (type.kind === 'map') return Object.keys(asObject(value)).length;
  if (type.kind === 'slice') return asArray(value).length;
  return asString(value).length;
}

/** A record's field; absent or null reads as Go's zero value of its type. */
function fieldValue(record: unknown, key: string, type: FieldType): unknown {
  const value = asObject(record)[key];
  if (value !== undefined && value !== null) return value;
  switch (type.kind) {
    case 'string':
      return '';
    case 'int':
      return 0;
    case 'bool':
      return false;
    case 'slice':
      return [];
    default:
      return {};
  }
}

function asObject(value: unknown): Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function asString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Go's %q for the ASCII-printable text of selectors, values and operators (close enough elsewhere). */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}
