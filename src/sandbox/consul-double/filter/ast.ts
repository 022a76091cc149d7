/**
 * The syntax tree of Consul's `filter` expressions (go-bexpr v0.1.2, the version Consul's servers
 * use), and `formatExpression`, which writes a tree back as an expression that parses to the same
 * tree (used by the property tests and in error messages).
 */

export type MatchOperator = 'Equal' | 'Not Equal' | 'In' | 'Not In' | 'Is Empty' | 'Is Not Empty' | 'Matches' | 'Not Matches';

export interface MatchExpression {
  readonly kind: 'match';
  /** Field names from the root of the record, e.g. `['Service', 'Meta', 'env']`. */
  readonly selector: readonly string[];
  readonly operator: MatchOperator;
  /** The value as written (quotes removed); absent for `is empty` / `is not empty`. */
  readonly value?: string;
}

export interface NotExpression {
  readonly kind: 'not';
  readonly operand: Expression;
}

export interface BinaryExpression {
  readonly kind: 'and' | 'or';
  readonly left: Expression;
  readonly right: Expression;
}

export type Expression = MatchExpression | NotExpression | BinaryExpression;

/** A failure to parse, validate or run an expression; `message` is what Consul would say after its prefix. */
export class FilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterError';
  }
}

const IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9_]*$/;

/** A string literal bexpr reads back as `value`: `"` and control characters as `\xHH` (a `"` always ends a literal). */
export function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) throw new FilterError('a lone UTF-16 surrogate cannot be written in a filter expression');
    if (ch === '"' || code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (ch === '\\') out += '\\\\';
    else out += ch;
  }
  return `${out}"`;
}

export function formatSelector(selector: readonly string[]): string {
  return selector
    .map((part, i) => {
      if (IDENTIFIER.test(part)) return i === 0 ? part : `.${part}`;
      if (i === 0) throw new FilterError(`selector ${JSON.stringify(selector)} must start with an identifier`);
      return `[${quote(part)}]`;
    })
    .join('');
}

const OPERATOR_TEXT: Readonly<Record<MatchOperator, string>> = {
  Equal: '==',
  'Not Equal': '!=',
  In: 'in',
  'Not In': 'not in',
  'Is Empty': 'is empty',
  'Is Not Empty': 'is not empty',
  Matches: 'matches',
  'Not Matches': 'not matches',
};

/** Canonical text of a tree: fully parenthesized, values always quoted. */
export function formatExpression(e: Expression): string {
  switch (e.kind) {
    case 'and':
    case 'or':
      return `(${formatExpression(e.left)}) ${e.kind} (${formatExpression(e.right)})`;
    case 'not':
      return `not (${formatExpression(e.operand)})`;
    case 'match': {
      const selector = formatSelector(e.selector);
      if (e.operator === 'Is Empty' || e.operator === 'Is Not Empty') return `${selector} ${OPERATOR_TEXT[e.operator]}`;
      const value = quote(e.value ?? '');
      if (e.operator === 'In' || e.operator === 'Not In') return `${value} ${OPERATOR_TEXT[e.operator]} ${selector}`;
      return `${selector} ${OPERATOR_TEXT[e.operator]} ${value}`;
    }
  }
}
